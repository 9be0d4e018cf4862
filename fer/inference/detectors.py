"""Face detectors: each maps a BGR frame to a list of (x, y, w, h) boxes in frame pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer.errors import InputFileError

Box = tuple[int, int, int, int]


def _shrink(frame: np.ndarray, max_width: int | None) -> tuple[np.ndarray, float]:
    """Detect on a smaller copy (far faster; faces stay large enough), and say how to scale boxes back."""
    if not max_width or frame.shape[1] <= max_width:
        return frame, 1.0
    scale = max_width / frame.shape[1]
    return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (shipped with opencv-python < 5)."""

    def __init__(self, min_size: int = 40, scale_factor: float = 1.1, min_neighbors: int = 5,
                 max_width: int | None = 320, cascade: str | None = None) -> None:
        path = cascade or str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml")
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise InputFileError(f"{path}: cannot load the Haar cascade (opencv-python >= 5 ships none; "
                                    "install opencv-python<5)")
        self.min_size, self.scale_factor, self.min_neighbors, self.max_width = \
            min_size, scale_factor, min_neighbors, max_width

    def __call__(self, frame: np.ndarray) -> list[Box]:
        small, scale = _shrink(frame, self.max_width)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        side = max(12, int(self.min_size * scale))
        boxes = self.cascade.detectMultiScale(gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=(side, side))
        return [tuple(int(round(v / scale)) for v in box) for box in boxes]


class YuNetDetector:
    """OpenCV's YuNet CNN detector (``cv2.FaceDetectorYN``) from the user's ONNX file (nothing is downloaded)."""

    def __init__(self, model: str, score_threshold: float = 0.7, min_size: int = 40,
                 max_width: int | None = 640) -> None:
        if not Path(model).is_file():
            raise InputFileError(f"{model}: YuNet ONNX file not found (e.g. face_detection_yunet_2023mar.onnx "
                                    "from the OpenCV model zoo)")
        self.net = cv2.FaceDetectorYN.create(str(model), "", (320, 320), score_threshold)
        self.min_size, self.max_width = min_size, max_width

    def __call__(self, frame: np.ndarray) -> list[Box]:
        small, scale = _shrink(frame, self.max_width)
        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        self.net.setInputSize((small.shape[1], small.shape[0]))
        _, faces = self.net.detect(small)
        boxes = [tuple(int(round(v / scale)) for v in face[:4]) for face in (faces if faces is not None else [])]
        return [b for b in boxes if min(b[2], b[3]) >= self.min_size]


class WholeImage:
    """No detection: the frame is already one face (FER-2013-style crops)."""

    def __call__(self, frame: np.ndarray) -> list[Box]:
        return [(0, 0, frame.shape[1], frame.shape[0])]


def centre_square(frame: np.ndarray) -> Box:
    """The largest centred square: the fallback for portraits whose face fills the frame."""
    h, w = frame.shape[:2]
    side = min(h, w)
    return ((w - side) // 2, (h - side) // 2, side, side)
