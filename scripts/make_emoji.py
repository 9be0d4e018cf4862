"""Render the emoji assets: python scripts/make_emoji.py [font=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf]"""

from fer.commands import make_emoji

if __name__ == "__main__":
    make_emoji()
