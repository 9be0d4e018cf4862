"""Live emotions: python scripts/webcam.py [source=0|<video>|<folder>] [headless=true output=<file.mp4>]"""

from fer.commands import webcam

if __name__ == "__main__":
    webcam()
