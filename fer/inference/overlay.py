"""Drawing: face boxes, labels, emoji alpha-blended beside each face, probability bars, FPS."""

from __future__ import annotations

import functools
from dataclasses import replace

import cv2
import numpy as np

from fer.inference.recognizer import Face

COLOURS = {  # BGR
    "angry": (40, 40, 220), "contempt": (140, 90, 160), "disgust": (60, 160, 60), "fear": (180, 80, 140),
    "happy": (40, 200, 250), "neutral": (190, 190, 190), "sad": (200, 120, 40), "surprise": (40, 150, 250),
}
FONT = cv2.FONT_HERSHEY_SIMPLEX


def blend(frame: np.ndarray, image: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend a BGRA image onto the frame in place, clipped to the frame."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, frame.shape[1]), min(y + h, frame.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    patch = image[y0 - y: y1 - y, x0 - x: x1 - x]
    alpha = patch[:, :, 3:4].astype(np.uint16)
    region = frame[y0:y1, x0:x1]
    region[:] = ((patch[:, :, :3] * alpha + region * (255 - alpha) + 127) // 255).astype(np.uint8)


def _text(frame, text, org, scale=0.55, colour=(255, 255, 255), thickness=1) -> None:
    cv2.putText(frame, text, org, FONT, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(frame, text, org, FONT, scale, colour, thickness, cv2.LINE_AA)


BAR_ROW = 16


@functools.lru_cache(maxsize=8)
def _bar_panel(classes: tuple[str, ...], width: int) -> np.ndarray:
    """The bars' dark panel with the class names, drawn once (anti-aliased text is the slow part of a frame)."""
    panel = np.full((BAR_ROW * len(classes) + 4, width + 94, 3), 30, np.uint8)
    for i, name in enumerate(classes):
        cv2.putText(panel, name[:8], (4, 4 + i * BAR_ROW + 12), FONT, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return panel


def draw_bars(frame: np.ndarray, face: Face, x: int, y: int, width: int = 110) -> None:
    """One bar per class, with the class name and probability, on a dark panel."""
    panel = _bar_panel(tuple(face.classes), width)
    x0, y0 = max(0, x - 4), max(0, y - 4)
    h, w = min(panel.shape[0], frame.shape[0] - y0), min(panel.shape[1], frame.shape[1] - x0)
    if h <= 0 or w <= 0:
        return
    frame[y0:y0 + h, x0:x0 + w] = panel[:h, :w]
    for i, (name, p) in enumerate(face.probabilities().items()):
        top = y + i * BAR_ROW
        cv2.rectangle(frame, (x + 62, top + 2), (x + 62 + int(width * p), top + BAR_ROW - 3),
                      COLOURS.get(name, (200, 200, 200)), -1)
        cv2.putText(frame, f"{p:4.0%}", (x + 66 + width, top + 12), FONT, 0.4, (255, 255, 255), 1, cv2.LINE_AA)


def legible(frame: np.ndarray, faces: list[Face], min_side: int = 360) -> tuple[np.ndarray, list[Face]]:
    """A small image (a 48x48 crop) scaled up, boxes with it, so that the drawn text can be read."""
    scale = min_side / min(frame.shape[:2])
    if scale <= 1:
        return frame, faces
    frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return frame, [replace(f, box=tuple(int(round(v * scale)) for v in f.box)) for f in faces]


def emoji_corner(frame: np.ndarray, box: tuple[int, int, int, int], side: int) -> tuple[int, int]:
    """Beside the box (right, else left); inside its top-right corner, below the caption, when neither fits."""
    x, y, w, h = box
    if x + w + 6 + side <= frame.shape[1]:
        return x + w + 6, y
    if x - side - 6 >= 0:
        return x - side - 6, y
    return max(0, x + w - side - 4), y + 28


def draw_faces(frame: np.ndarray, faces: list[Face], emoji: dict[str, np.ndarray] | None = None,
               bars: bool = True) -> np.ndarray:
    """Annotate in place: box and label per face, emoji beside it, bars for the largest face."""
    for face in faces:
        x, y, w, h = face.box
        colour = COLOURS.get(face.label, (255, 255, 255))
        if face.roll:  # a tilted face's box, tilted with it
            corners = cv2.boxPoints(((x + w / 2, y + h / 2), (w, h), -face.roll))
            cv2.polylines(frame, [np.round(corners).astype(np.int32)], True, colour, 2, cv2.LINE_AA)
        else:
            cv2.rectangle(frame, (x, y), (x + w, y + h), colour, 2)
        caption = f"{face.label} {face.confidence:.0%}" + ("" if face.detected else " (whole image)")
        _text(frame, caption, (x, max(15, y - 8)), 0.6, colour, 2)
        if emoji and face.label in emoji:
            side = max(24, min(h // 2, 128))
            icon = _resized(emoji[face.label], side)
            blend(frame, icon, *emoji_corner(frame, face.box, side))
    if bars and faces:
        largest = max(faces, key=lambda f: f.box[2] * f.box[3])
        draw_bars(frame, largest, 10, frame.shape[0] - 16 * len(largest.classes) - 8)
    return frame


def _resized(image: np.ndarray, side: int, _cache: dict = {}) -> np.ndarray:  # noqa: B006 (a deliberate cache)
    """An emoji at ``side`` pixels, resized once per size (a face's size barely changes between frames)."""
    key = (id(image), side)
    source, resized = _cache.get(key, (None, None))
    if source is not image:  # also when an id was reused by another image
        if len(_cache) > 256:
            _cache.clear()
        resized = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
        _cache[key] = (image, resized)
    return resized


def draw_fps(frame: np.ndarray, fps: float) -> None:
    _text(frame, f"{fps:5.1f} FPS", (frame.shape[1] - 110, 22), 0.6)
