"""Knowledge distillation: a student learns from the averaged soft predictions of exported teacher models.

Teachers are exported model files (a run's ``model.pt``) or the bundled models by name. They see the
very batch the student sees (after augmentation and mixing), run in inference mode with BatchNorm
folded and, where the CPU has native bf16, in bf16, so a teacher costs about a third of a student
training step of the same size. They are not part of the student: checkpoints and exports hold the
student only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from fer.errors import ConfigError


class Teachers:
    """The teachers' averaged class probabilities at ``temperature``, and the soft-target loss against them."""

    def __init__(self, models: Sequence[str], temperature: float, preprocessing: dict,
                 precision: str = "auto") -> None:
        # imported here, not at the top: loading a model file builds the LightningModule, which imports this file
        from fer.inference.model import deploy, load_model, model_path, require_same_preprocessing

        if not models:
            raise ConfigError("distill.teachers is empty; name at least one model file or bundled model")
        self.temperature, self.image_size = temperature, preprocessing["image_size"]
        self.modules = [load_model(model_path(name)) for name in models]
        for name, module in zip(models, self.modules, strict=True):
            require_same_preprocessing(f"distill teacher {name}", module.preprocessing, preprocessing,
                                       ("image_size", "channels", "classes"))
        self.bf16 = [deploy(module, precision) for module in self.modules]

    @torch.inference_mode()
    def probabilities(self, images: Tensor) -> Tensor:
        """Mean of the teachers' softened probabilities for float [0, 1] images, shown at the size they were
        trained at (``resize=progressive`` shrinks the student's early batches)."""
        if images.shape[-1] != self.image_size:
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear",
                                   align_corners=False)
        total = 0.0
        for module, bf16 in zip(self.modules, self.bf16, strict=True):
            with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=bf16):
                total = total + (module(images).float() / self.temperature).softmax(1)
        return total / len(self.modules)

    def loss(self, images: Tensor, student_logits: Tensor) -> Tensor:
        """Hinton's soft-target loss: KL(teachers || student) at the temperature, scaled by T^2."""
        targets = self.probabilities(images).clone()  # out of inference mode, usable in autograd
        log_student = F.log_softmax(student_logits.float() / self.temperature, dim=1)
        return F.kl_div(log_student, targets, reduction="batchmean") * self.temperature**2
