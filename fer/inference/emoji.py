"""Emoji images: rendered once from an openly licensed colour font, loaded as BGRA for the overlay."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer.errors import InputFileError
from fer.labels import CANONICAL_CLASSES, EMOJI

BUNDLED_EMOJI_DIR = Path(__file__).resolve().parent.parent / "assets" / "emoji"


def render_emoji_set(font: Path, output: Path, size: int = 96) -> list[Path]:
    """One RGBA PNG per class; Noto Color Emoji is a bitmap font drawn at its native 109 px, then scaled."""
    from PIL import Image, ImageDraw, ImageFont

    face = ImageFont.truetype(str(font), 109, layout_engine=ImageFont.Layout.BASIC)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name in CANONICAL_CLASSES:
        canvas = Image.new("RGBA", (136, 128), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((0, 0), EMOJI[name], font=face, embedded_color=True)
        canvas = canvas.crop(canvas.getbbox()).resize((size, size), Image.LANCZOS)
        path = output / f"{name}.png"
        canvas.save(path)
        written.append(path)
    return written


def load_emoji(directory: str | Path | None, classes: list[str]) -> dict[str, np.ndarray]:
    """BGRA images by class name; every class must have ``<class>.png`` in the directory."""
    directory = Path(directory) if directory else BUNDLED_EMOJI_DIR
    images = {}
    for name in classes:
        path = directory / f"{name}.png"
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise InputFileError(f"{path}: missing or unreadable emoji image (expected one PNG per class: "
                                    f"{', '.join(c + '.png' for c in classes)})")
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
        elif image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
        images[name] = image
    return images
