"""Face detectors: each maps a BGR frame to a list of (x, y, w, h) boxes in frame pixels."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    size = (max_width, max(1, round(frame.shape[0] * scale)))  # a sliver of a photo keeps one row
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale


class CopySearcher:
    """A detector that searches a copy of the frame at most ``max_width`` wide; ``search`` takes another width
    (the Recognizer's closer look at large photos)."""

    max_width: int | None

    def __call__(self, frame: np.ndarray) -> list[Box]:
        return self.search(frame, self.max_width)

    def search(self, frame: np.ndarray, max_width: int | None) -> list[Box]:
        raise NotImplementedError


class HaarDetector(CopySearcher):
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

    def search(self, frame: np.ndarray, max_width: int | None) -> list[Box]:
        """Faces found on a copy at most ``max_width`` wide (None: the frame itself)."""
        small, scale = _shrink(frame, max_width)
        side = max(12, int(self.min_size * scale))
        return self._detect(small, scale, (side, side), (0, 0))

    def _detect(self, image: np.ndarray, scale: float, min_size: tuple[int, int], max_size: tuple[int, int],
                offset: tuple[int, int] = (0, 0)) -> list[Box]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        boxes = self.cascade.detectMultiScale(gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=min_size, maxSize=max_size)
        return [(int(round(x / scale)) + offset[0], int(round(y / scale)) + offset[1], int(round(w / scale)),
                 int(round(h / scale))) for x, y, w, h in boxes]

    def near(self, frame: np.ndarray, box: Box, margin: float = 0.5, face_px: int = 44) -> list[Box]:
        """Faces in a window around ``box`` (``margin`` of its side on every side), searched at about the
        box's size only, on a copy scaled so the face is ``face_px`` wide: a small fraction of a
        whole-frame search, for following a face from one video frame to the next."""
        x, y, w, h = box
        left, top = max(0, int(x - margin * w)), max(0, int(y - margin * h))
        window = frame[top: int(y + h + margin * h), left: int(x + w + margin * w)]
        scale = min(1.0, face_px / max(w, 1))
        if scale < 1.0:
            window = cv2.resize(window, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        low, high = int(0.7 * w * scale), int(1.45 * w * scale) + 1
        return self._detect(window, scale, (low, low), (high, high), (left, top))


class TrackingDetector:
    """A whole-frame detector for video that mostly looks only where the faces were.

    Every ``full_every``-th frame, and whenever no face is being followed, the whole frame is searched
    (new faces appear there); in the frames between, each face is searched near its last box
    (``detector.near``), at a small fraction of the cost. If any followed face is not found near its
    box, the whole frame is searched again at once, so no face is lost that a whole-frame search on
    every frame would keep.
    """

    def __init__(self, detector: HaarDetector, full_every: int = 10, margin: float = 0.5) -> None:
        self.detector, self.full_every, self.margin = detector, full_every, margin
        self.boxes: list[Box] = []
        self.since_full = 0
        self.full_searches = 0

    def __call__(self, frame: np.ndarray) -> list[Box]:
        self.since_full += 1
        if self.boxes and self.since_full < self.full_every and hasattr(self.detector, "near"):
            followed = [self.detector.near(frame, box, self.margin) for box in self.boxes]
            if all(len(found) == 1 for found in followed):
                self.boxes = [found[0] for found in followed]
                return list(self.boxes)
        self.since_full, self.full_searches = 0, self.full_searches + 1
        self.boxes = list(self.detector(frame))
        return list(self.boxes)


class YuNetDetector(CopySearcher):
    """OpenCV's YuNet CNN detector (``cv2.FaceDetectorYN``) from the user's ONNX file (nothing is downloaded)."""

    def __init__(self, model: str, score_threshold: float = 0.7, min_size: int = 40,
                 max_width: int | None = 640) -> None:
        if not Path(model).is_file():
            raise InputFileError(f"{model}: YuNet ONNX file not found (e.g. face_detection_yunet_2023mar.onnx "
                                    "from the OpenCV model zoo)")
        self.net = cv2.FaceDetectorYN.create(str(model), "", (320, 320), score_threshold)
        self.min_size, self.max_width = min_size, max_width

    def search(self, frame: np.ndarray, max_width: int | None) -> list[Box]:
        """Faces found on a copy at most ``max_width`` wide (None: the frame itself)."""
        small, scale = _shrink(frame, max_width)
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


def framing_margins(detector: Callable[[np.ndarray], list[Box]], faces: Iterable[np.ndarray],
                    upscale: int = 4) -> np.ndarray:
    """The margin that turns ``detector``'s box into each training crop: ``(crop side / box side - 1) / 2``.

    A model sees faces framed as its training crops were; a detector's box frames them its own way, and
    the recognizer's ``margin`` bridges the two. Each crop (a square training face, e.g. FER-2013's
    48x48) is enlarged ``upscale`` times inside a border of its repeated edge pixels, so the detector
    finds it at a size it works at; crops it misses are left out. The median is the margin to use
    (docs/RESULTS.md, "Framing").
    """
    margins = []
    for face in faces:
        big = cv2.resize(face, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        pad = big.shape[0] // 2
        boxes = detector(cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
        if boxes:
            side = max(boxes, key=lambda b: b[2] * b[3])[2]
            margins.append((big.shape[0] / side - 1) / 2)
    return np.array(margins)


def turned(frame: np.ndarray, angle: float, max_side: int = 1280) -> tuple[np.ndarray, Callable[[Box], Box]]:
    """The frame turned ``angle`` degrees counter-clockwise on a canvas that holds all of it (scaled down to
    at most ``max_side`` pixels: the detectors search smaller copies still), and a map that takes a box
    found there back to the frame: a box of the same size, in frame pixels, around the same face centre.

    Frontal-face detectors find heads tilted up to about 15 degrees; a face tilted further is upright,
    and found, in a copy turned the other way.
    """
    h, w = frame.shape[:2]
    scale = min(1.0, max_side / (np.hypot(w, h)))
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos)))
    matrix[:, 2] += ((size[0] - w) / 2, (size[1] - h) / 2)
    inverse = cv2.invertAffineTransform(matrix)

    def back(box: Box) -> Box:
        x, y, bw, bh = box
        cx, cy = inverse @ (x + bw / 2, y + bh / 2, 1.0)
        bw, bh = bw / scale, bh / scale
        return int(round(cx - bw / 2)), int(round(cy - bh / 2)), int(round(bw)), int(round(bh))

    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(frame, matrix, size, flags=interpolation, borderMode=cv2.BORDER_REPLICATE), back


def centre_square(frame: np.ndarray) -> Box:
    """The largest centred square: the fallback for portraits whose face fills the frame."""
    h, w = frame.shape[:2]
    side = min(h, w)
    return ((w - side) // 2, (h - side) // 2, side, side)
