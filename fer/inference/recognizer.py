"""Faces in, emotions out: detect, crop, shape as in training, classify all crops in one batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fer.data.arrays import to_face
from fer.errors import ConfigError
from fer.inference.detectors import Box, HaarDetector, centre_square
from fer.inference.model import deploy, load_model, model_path
from fer.tta import predict_log_probs

BACKENDS = ("torch", "onnxruntime")


def use_threads(threads: int | None) -> None:
    """The apps' thread count for classification (1 is fastest for a few faces at a time; None: all cores)."""
    if threads:
        torch.set_num_threads(threads)


@dataclass
class Face:
    box: Box
    probs: np.ndarray  # one probability per class, in ``classes`` order
    classes: Sequence[str]
    detected: bool = True  # False when the box is the whole-image fallback
    track: int | None = None

    @property
    def label(self) -> str:
        return self.classes[int(self.probs.argmax())]

    @property
    def confidence(self) -> float:
        return float(self.probs.max())

    def probabilities(self) -> dict[str, float]:
        return {c: float(p) for c, p in zip(self.classes, self.probs)}


@dataclass
class Recognizer:
    """``Recognizer()(frame)`` -> faces with boxes and class probabilities (bundled model, Haar detector).

    ``model`` is a bundled model's name (``accurate``, the default, or ``fast``), an exported
    ``model.pt`` or a Lightning checkpoint.

    Size, channels, normalisation and class order come from the model file itself.
    ``tta='flip'``, ``'ten_crop'`` or ``'flip_zoom_rotate'`` averages the prediction over augmented views (fer.tta).
    ``precision='auto'`` classifies in bf16 where the CPU has native bf16 (as training does), else
    fp32 (see ``deploy``). ``backend='onnxruntime'`` runs an .onnx file (or the ONNX copy of the model,
    exported once and cached) with ONNX Runtime in fp32 instead (``pip install 'fer[onnx]'``).
    """

    model: str | Path | None = None
    detector: Callable[[np.ndarray], list[Box]] | None = None
    margin: float = 0.05  # frames faces as the models were trained (docs/RESULTS.md, "Framing")
    tta: str | None = None
    precision: str = "auto"
    backend: str = "torch"
    module: Callable[[torch.Tensor], torch.Tensor] = field(init=False)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend={self.backend!r}: expected one of {BACKENDS}")
        if self.backend == "onnxruntime":
            from fer.inference.onnx import OnnxModel, onnx_file

            self.module, self.bf16 = OnnxModel(onnx_file(self.model)), False
        else:
            self.module = load_model(model_path(self.model))
            self.bf16 = deploy(self.module, self.precision)
        self.detector = self.detector or HaarDetector()
        pre = self.module.preprocessing
        self.classes, self.image_size, self.channels = list(pre["classes"]), pre["image_size"], pre["channels"]

    @classmethod
    def from_config(cls, cfg) -> "Recognizer":
        """The recognizer predict.yaml / webcam.yaml describe (model_file, detector, margin, tta, precision, backend).

        Thread counts are the application's to set (``cfg.threads``, see fer.apps), not a
        library constructor's: they change the whole process."""
        from hydra.utils import instantiate

        return cls(model=cfg.model_file, detector=instantiate(cfg.detector), margin=cfg.margin, tta=cfg.tta,
                   precision=cfg.precision, backend=cfg.backend)

    def crop(self, frame: np.ndarray, box: Box) -> np.ndarray:
        x, y, w, h = box
        dx, dy = int(w * self.margin), int(h * self.margin)
        return frame[max(0, y - dy): y + h + dy, max(0, x - dx): x + w + dx]

    @torch.inference_mode()
    def classify(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities [N, classes] for face crops (BGR or gray, any size), in one batch."""
        if not len(crops):
            return np.zeros((0, len(self.classes)), np.float32)
        faces = np.stack([to_face(c, self.image_size, self.channels) for c in crops])
        x = torch.from_numpy(faces).float().div_(255)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            return predict_log_probs(self.module, x, self.tta).softmax(1).numpy()

    def __call__(self, frame: np.ndarray, fallback_whole: bool = False) -> list[Face]:
        return self.faces(frame, list(self.detector(frame)), fallback_whole)

    def faces(self, frame: np.ndarray, boxes: Sequence[Box], fallback_whole: bool = False) -> list[Face]:
        """Classify the faces at ``boxes`` (found by any detector: a live stream brings its own, see fer.inference.live)."""
        detected = bool(boxes)
        if not boxes and fallback_whole:
            boxes = [centre_square(frame)]
        probs = self.classify([self.crop(frame, b) for b in boxes])
        return [Face(tuple(map(int, b)), p, self.classes, detected) for b, p in zip(boxes, probs)]
