"""Render the emoji assets: python scripts/make_emoji.py [font=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf]

Draws each class's emoji (fer.labels.EMOJI) from Noto Color Emoji (SIL Open Font License 1.1;
Debian package fonts-noto-color-emoji) into fer/assets/emoji/<class>.png, RGBA, 96x96.
"""

import sys
from pathlib import Path

from fer.inference.emoji import render_emoji_set

DEFAULT_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"


def main() -> None:
    options = dict(arg.split("=", 1) for arg in sys.argv[1:])
    font = Path(options.get("font", DEFAULT_FONT))
    if not font.is_file():
        sys.exit(f"error: {font} not found; install it with 'apt-get install fonts-noto-color-emoji' or pass font=")
    output = Path(options.get("output", Path(__file__).resolve().parent.parent / "fer" / "assets" / "emoji"))
    for path in render_emoji_set(font, output):
        print(path)


if __name__ == "__main__":
    main()
