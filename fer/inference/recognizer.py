"""Faces in, emotions out: detect, crop, shape as in training, classify all crops in one batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from fer.data.arrays import to_face
from fer.errors import ConfigError
from fer.inference.detectors import Box, HaarDetector, centre_square, turned
from fer.inference.model import deploy, load_model, model_path
from fer.tta import predict_log_probs

BACKENDS = ("torch", "onnxruntime")
CROP_FACE = 0.6  # a face at least this wide (a fraction of the image's shorter side): the image is a face crop


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
    roll: float = 0.0  # degrees the face is tilted in the image, counter-clockwise (found in a turned copy)

    @property
    def label(self) -> str:
        return self.classes[int(self.probs.argmax())]

    @property
    def confidence(self) -> float:
        return float(self.probs.max())

    def probabilities(self) -> dict[str, float]:
        return {c: float(p) for c, p in zip(self.classes, self.probs, strict=True)}


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
    ``turns`` (degrees, e.g. ``(-20, 20, -40, 40)``): where the detector finds no face, copies of the image
    turned by these angles are searched too, for heads tilted past the detector's reach (about 15
    degrees); such a face is classified upright and ``Face.roll`` says how far it was tilted.
    ``search_width`` (pixels, e.g. 1280): where no face is found upright or turned, the image is searched
    once more on a copy up to this wide, for faces too small for the detector's own copy (Haar searches
    one at most 320 px wide: in a 2000-px photo no face under about 150 px).
    """

    model: str | Path | None = None
    detector: Callable[[np.ndarray], list[Box]] | None = None
    margin: float = 0.05  # frames faces as the models were trained (docs/RESULTS.md, "Framing")
    tta: str | None = None
    turns: Sequence[float] = ()
    search_width: int | None = None
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
    def from_config(cls, cfg) -> Recognizer:
        """The recognizer predict.yaml / webcam.yaml describe (model_file, detector, margin, tta, precision,
        backend, and turns and search_width where given: only predict.yaml does, a live stream follows faces
        upright and near).

        Thread counts are the application's to set (``cfg.threads``, see fer.apps), not a
        library constructor's: they change the whole process."""
        from hydra.utils import instantiate

        return cls(model=cfg.model_file, detector=instantiate(cfg.detector), margin=cfg.margin, tta=cfg.tta,
                   turns=tuple(cfg.get("turns") or ()), search_width=cfg.get("search_width"),
                   precision=cfg.precision, backend=cfg.backend)

    def crop(self, frame: np.ndarray, box: Box, roll: float = 0.0) -> np.ndarray:
        """The face at ``box`` widened by ``margin``; a tilted face (``roll`` degrees) turned upright."""
        x, y, w, h = box
        dx, dy = int(w * self.margin), int(h * self.margin)
        if not roll:
            return frame[max(0, y - dy): y + h + dy, max(0, x - dx): x + w + dx]
        upright = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), -roll, 1.0)
        upright[:, 2] += (dx - x, dy - y)
        return cv2.warpAffine(frame, upright, (w + 2 * dx, h + 2 * dy), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

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
        boxes, roll = list(self.detector(frame)), 0.0
        if not boxes and (self.turns or self.search_width):
            boxes, roll = self.search_harder(frame)
        return self.faces(frame, boxes, fallback_whole, roll)

    def search_harder(self, frame: np.ndarray) -> tuple[list[Box], float]:
        """Faces in a frame where the detector found none: their boxes and tilt, or none when the frame is
        itself one face, framed too tightly for the detector.

        Searched in turn, the first search that finds any wins: the frame with its edges extended (by a
        quarter of its shorter side), so that a face filling the frame is found too, at about the frame's
        size: then there is no tilted head or small face to look for (turned copies and closer looks find
        that face leaning, or parts of it), and the whole frame frames it best; copies of it turned by
        each of ``turns``; the frame on a copy up to ``search_width`` wide (small faces in large photos)."""
        side = min(frame.shape[:2])
        pad = side // 4
        padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        for angle in (0.0, *self.turns):
            image, back = turned(padded, angle) if angle else (padded, lambda box: box)
            found = [(x - pad, y - pad, w, h) for x, y, w, h in map(back, self.detector(image))]
            if any(w >= CROP_FACE * side for _, _, w, _ in found):
                return [], 0.0
            if found:
                return found, -angle or 0.0  # 0.0, not -0.0
        width = getattr(self.detector, "max_width", None)
        if self.search_width and width and frame.shape[1] > width:
            return self.detector.search(frame, self.search_width), 0.0
        return [], 0.0

    def faces(self, frame: np.ndarray, boxes: Sequence[Box], fallback_whole: bool = False,
              roll: float = 0.0) -> list[Face]:
        """Classify the faces at ``boxes`` (found by any detector: a live stream brings its own, see
        fer.inference.live), all tilted ``roll`` degrees counter-clockwise."""
        detected = bool(boxes)
        if not boxes and fallback_whole:
            boxes = [centre_square(frame)]
        probs = self.classify([self.crop(frame, b, roll) for b in boxes])
        return [Face(tuple(map(int, b)), p, self.classes, detected, roll=roll)
                for b, p in zip(boxes, probs, strict=True)]
