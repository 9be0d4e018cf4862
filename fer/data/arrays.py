"""FaceArrays: what every reader returns, and the one function that shapes a face image."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from fer.errors import DataError

SPLITS: tuple[str, ...] = ("train", "val", "test")
FER2013_USAGE: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
"""fer2013.csv ``Usage`` values (and Kaggle file-name prefixes) and the split each one is."""


@dataclass
class FaceArrays:
    """A whole dataset in memory: decoded once, cached, then only indexed.

    ``structured`` is False when the source carries no split information (a plain folder of
    class subfolders, a CSV without ``Usage``): every row is then tagged ``train``.
    """

    images: np.ndarray  # uint8 [N, C, H, W]
    labels: np.ndarray  # int64 [N], index into ``classes``
    splits: np.ndarray  # str [N]: train | val | test
    classes: tuple[str, ...]  # canonical names, sorted
    source_classes: tuple[str, ...] = ()  # the dataset's own spelling, in its own order
    files: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))  # where each row came from
    structured: bool = True

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise DataError(f"images must be uint8 [N,C,H,W], got {self.images.dtype} {self.images.shape}")
        if len(self.labels) != n or len(self.splits) != n:
            raise DataError(f"{n} images but {len(self.labels)} labels and {len(self.splits)} split tags")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise DataError(f"labels must lie in 0..{len(self.classes) - 1} for classes {self.classes}")
        if not len(self.files):
            self.files = np.array([f"#{i}" for i in range(n)])

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self, split: str | None = None) -> dict[str, int]:
        labels = self.labels if split is None else self.labels[self.splits == split]
        counts = np.bincount(labels, minlength=len(self.classes))
        return dict(zip(self.classes, counts.tolist(), strict=True))


def to_face(image: np.ndarray, size: int | tuple[int, int] | None, channels: int) -> np.ndarray:
    """Any decoded image (gray, BGR, BGRA; any size) -> uint8 [C, H, W] at the configured size.

    Training readers and inference both call this, so a face is shaped the same way everywhere.
    ``size=None`` keeps the image's own size (format conversion).
    """
    height, width = image.shape[:2] if size is None else (size, size) if isinstance(size, int) else size
    if image.dtype != np.uint8:
        raise DataError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if channels == 1 and image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    elif channels == 3 and image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif channels not in (1, 3):
        raise DataError(f"channels must be 1 or 3, got {channels}")
    if image.shape[:2] != (height, width):
        shrinking = image.shape[0] > height or image.shape[1] > width
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return image[None] if image.ndim == 2 else np.ascontiguousarray(image.transpose(2, 0, 1))
