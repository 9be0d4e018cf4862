"""Knowledge distillation: a student learns from the averaged soft predictions of exported teacher models.

Teachers are exported model files (a run's ``model.pt``) or the bundled models by name. They run in
inference mode with BatchNorm folded and, where the CPU has native bf16, in bf16. Two ways to teach:

- live (``cached: false``): the teachers see the very batch the student sees, after augmentation and
  mixing; each teacher costs about a third of a student training step of its size, on every step.
- cached (``cached: true``): before the first step the teachers answer once for every clean training
  face, averaged over test-time ``views`` (fer/tta.py); those probabilities travel with the face's label
  through augmentation and mixing (mixed with the same weights), so a run with teachers costs what a
  plain run does. The cached answer is the teacher's view of the face, not of its augmented copy: close
  for crops, flips and small turns, looser where random erasing hides part of the face.

Teachers are not part of the student: checkpoints and exports hold the student only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from fer.data.cache import default_cache_dir, source_checksum
from fer.errors import ConfigError
from fer.files import opened_whole
from fer.tta import views

log = logging.getLogger(__name__)


class Teachers:
    """The teachers' averaged class probabilities at ``temperature``, and the soft-target loss against them."""

    def __init__(self, models: Sequence[str], temperature: float, preprocessing: dict,
                 precision: str = "auto") -> None:
        # imported here, not at the top: loading a model file builds the LightningModule, which imports this file
        from fer.inference.model import deploy, load_model, model_path, require_same_preprocessing

        if not models:
            raise ConfigError("distill.teachers is empty; name at least one model file or bundled model")
        self.names, self.temperature, self.image_size = list(models), temperature, preprocessing["image_size"]
        self.files = [model_path(name) for name in models]
        self.modules = [load_model(file) for file in self.files]
        for name, module in zip(models, self.modules, strict=True):
            require_same_preprocessing(f"distill teacher {name}", module.preprocessing, preprocessing,
                                       ("image_size", "channels", "classes"))
        self.bf16 = [deploy(module, precision) for module in self.modules]

    def to(self, device: torch.device | str) -> Teachers:
        """Teachers load on the CPU; the student's device is theirs too (once, not on every batch)."""
        for module in self.modules:
            module.to(device)
        return self

    @torch.inference_mode()
    def probabilities(self, images: Tensor, tta: str = "none") -> Tensor:
        """Mean of the teachers' softened probabilities over the ``tta`` views of float [0, 1] images, shown at
        the size they were trained at (``resize=progressive`` shrinks the student's early batches)."""
        if images.shape[-1] != self.image_size:
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear",
                                   align_corners=False)
        total, seen = 0.0, views(images, tta)
        for module, bf16 in zip(self.modules, self.bf16, strict=True):
            with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=bf16):
                for view in seen:
                    total = total + (module(view).float() / self.temperature).softmax(1)
        return total / (len(self.modules) * len(seen))

    def probabilities_of_faces(self, faces: Tensor, tta: str, cache_dir: str | Path | None = None,
                               batch_size: int = 512) -> Tensor:
        """``probabilities`` of every uint8 face [N, C, H, W], a batch at a time, with a progress bar; kept on
        disk, keyed by the teachers' files, the views, the temperature and the faces, so a resumed run
        does not ask again."""
        key = json.dumps([[source_checksum(file) for file in self.files], tta, self.temperature,
                          hashlib.sha256(faces.cpu().contiguous().numpy().tobytes()).hexdigest()])
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        path = Path(cache_dir or default_cache_dir()) / "teachers" / f"{digest}.npy"
        if path.exists():
            log.info("distill: the teachers' answers for %d training faces from %s", len(faces), path)
            return torch.from_numpy(np.load(path))
        log.info("distill: %s answer for %d training faces once (views: %s)", ", ".join(self.names), len(faces), tta)
        started = time.perf_counter()
        batches = tqdm(faces.split(batch_size), desc="teachers' soft targets", unit="batch", leave=False, disable=None)
        answers = torch.cat([self.probabilities(batch.float().div_(255), tta).cpu() for batch in batches])
        with opened_whole(path) as handle:
            np.save(handle, answers.numpy())
        log.info("distill: answered in %.1f min; kept in %s for runs with the same teachers, views and faces",
                 (time.perf_counter() - started) / 60, path)
        return answers

    def loss(self, targets: Tensor, student_logits: Tensor) -> Tensor:
        """Hinton's soft-target loss against the teachers' probabilities ``targets`` (from ``probabilities``):
        KL(teachers || student) at the temperature, scaled by T^2."""
        if targets.is_inference():  # live targets: a copy outside inference mode can enter autograd
            targets = targets.clone()
        log_student = F.log_softmax(student_logits.float() / self.temperature, dim=1)
        return F.kl_div(log_student, targets.float(), reduction="batchmean") * self.temperature**2
