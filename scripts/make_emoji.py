"""Render the emoji assets: python scripts/make_emoji.py [font=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf]"""

from pathlib import Path

from fer.cli import app
from fer.errors import InputFileError
from fer.inference.emoji import BUNDLED_EMOJI_DIR, render_emoji_set


@app("make_emoji")
def main(cfg) -> None:
    font = Path(cfg.font)
    if not font.is_file():
        raise InputFileError(f"{font}: not found; install it with 'apt-get install fonts-noto-color-emoji' or give font=")
    for path in render_emoji_set(font, Path(cfg.output or BUNDLED_EMOJI_DIR)):
        print(path)


if __name__ == "__main__":
    main()
