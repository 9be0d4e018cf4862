"""One live video stream: detect (following faces between whole-frame searches), classify, smooth, draw.

The webcam app, the browser page and the benchmark all run a frame through ``LiveStream``; each
stream keeps its own detector state and per-face smoothing, and shares the Recognizer's model.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from fer.inference.detectors import Box
from fer.inference.overlay import draw_faces, draw_fps
from fer.inference.recognizer import Face, Recognizer
from fer.inference.smoothing import FaceTracker


class LiveStream:
    """``stream(frame)`` -> the faces of this frame, smoothed over the stream, drawn onto ``frame`` in place
    (``draw=False`` leaves the frame untouched, for clients that draw themselves)."""

    def __init__(self, recognizer: Recognizer, detector: Callable[[np.ndarray], list[Box]] | None = None,
                 emoji: dict[str, np.ndarray] | None = None, smoothing: float = 0.7) -> None:
        self.recognizer, self.emoji = recognizer, emoji
        self.detector = detector or recognizer.detector
        self.tracker = FaceTracker(alpha=smoothing)
        self.fps = 0.0
        self.detect_seconds = 0.0  # of the last frame: the detector's share of the work

    def __call__(self, frame: np.ndarray, draw: bool = True) -> list[Face]:
        start = time.perf_counter()
        boxes = list(self.detector(frame))
        self.detect_seconds = time.perf_counter() - start
        faces = self.tracker.update(self.recognizer.faces(frame, boxes))
        if draw:
            draw_faces(frame, faces, self.emoji)
        seconds = max(time.perf_counter() - start, 1e-6)
        self.fps = 0.9 * self.fps + 0.1 / seconds if self.fps else 1 / seconds
        if draw:
            draw_fps(frame, self.fps)
        return faces
