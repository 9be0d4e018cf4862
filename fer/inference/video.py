"""Frame sources (camera, video file, folder of images) and the headless sink (video + per-face CSV)."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from fer.data.readers import decode, image_files
from fer.errors import SourceError
from fer.inference.recognizer import Face

log = logging.getLogger(__name__)

class FrameSource:
    """``source``: a camera index (0), a video file, or a folder of images (read in name order)."""

    def __init__(self, source: int | str | Path) -> None:
        self.name = str(source)
        self.images: list[Path] | None = None
        self.unreadable: list[str] = []  # images of a folder that could not be decoded, skipped
        self.capture = None
        if isinstance(source, int) or str(source).isdigit():
            self.capture = cv2.VideoCapture(int(source))
            if not self.capture.isOpened():
                raise SourceError(f"no camera at index {source}: is one connected and free? "
                                  "(or give source=<video file or image folder>)")
        elif Path(source).is_dir():
            self.images = image_files(Path(source))
            if not self.images:
                raise SourceError(f"{source}: no images in this folder")
        elif Path(source).is_file():
            self.capture = cv2.VideoCapture(str(source))
            if not self.capture.isOpened() or not self.capture.read()[0]:
                raise SourceError(f"{source}: cannot read it as a video (corrupt, or a codec OpenCV lacks)")
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        else:
            raise SourceError(f"{source}: no such camera index, video file or image folder")

    @property
    def fps(self) -> float:
        fps = self.capture.get(cv2.CAP_PROP_FPS) if self.capture is not None else 0
        return fps if fps and fps > 1 else 15.0

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.images is not None:
            for path in self.images:
                frame = decode(path.read_bytes())
                if frame is None:  # one bad photo should not end the others' run (predict.py skips it too)
                    log.error("%s: cannot read this image (corrupt, truncated, or not an image); skipped", path)
                    self.unreadable.append(str(path))
                    continue
                yield frame
            return
        while True:
            ok, frame = self.capture.read()
            if not ok:
                return
            yield frame

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()


def check_outputs(outputs: list[Path], source: str | Path | None, overwrite: bool) -> None:
    """Never write over the input, and over an existing file only when the user said ``overwrite=true``."""
    source_path = Path(str(source)).resolve() if source is not None and Path(str(source)).exists() else None
    for path in outputs:
        if source_path is not None and (path.resolve() == source_path or source_path in path.resolve().parents):
            raise SourceError(f"{path}: output would overwrite the input {source}; choose another output")
        if path.exists() and not overwrite:
            raise SourceError(f"{path}: exists; choose another output, or pass overwrite=true to replace it")


def fit_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` scaled to fit ``size`` (width, height) whole, centred on black: a video has one frame size."""
    height, width = frame.shape[:2]
    if (width, height) == size:
        return frame
    scale = min(size[0] / width, size[1] / height)
    inner = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = cv2.resize(frame, inner, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((size[1], size[0], 3), np.uint8)
    top, left = (size[1] - inner[1]) // 2, (size[0] - inner[0]) // 2
    canvas[top: top + inner[1], left: left + inner[0]] = resized
    return canvas


class HeadlessSink:
    """Annotated video (mp4v) plus ``<video>.csv``: one row per face per frame. Always finalised by close().

    The video takes the first frame's size (its longer side at most ``max_side``, both sides even, as
    encoders want); frames of other sizes (a folder of photos) are fitted into it, so none is dropped.
    The CSV's boxes are in each source frame's own pixels."""

    def __init__(self, output: str | Path, fps: float, classes: list[str], source: str | Path | None = None,
                 overwrite: bool = False, max_side: int = 1920) -> None:
        self.output, self.max_side = Path(output), max_side
        check_outputs([self.output, self.output.with_suffix(".csv")], source, overwrite)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.fps, self.writer = fps, None
        self.csv_file = self.output.with_suffix(".csv").open("w", newline="")
        self.csv = csv.writer(self.csv_file)
        self.csv.writerow(["frame", "face", "track", "x", "y", "w", "h", "label", "confidence", *classes])
        self.frames = 0

    def write(self, frame: np.ndarray, faces: list[Face]) -> None:
        if self.writer is None:
            scale = min(1.0, self.max_side / max(frame.shape[:2]))
            self.size = tuple(max(2, 2 * round(side * scale / 2)) for side in (frame.shape[1], frame.shape[0]))
            self.writer = cv2.VideoWriter(str(self.output), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self.size)
        self.writer.write(fit_frame(frame, self.size))
        for i, face in enumerate(faces):
            self.csv.writerow([self.frames, i, face.track, *face.box, face.label, f"{face.confidence:.4f}",
                               *(f"{p:.4f}" for p in face.probs)])
        self.frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
        self.csv_file.close()
