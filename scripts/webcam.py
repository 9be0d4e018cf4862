"""Live emotions: python scripts/webcam.py [source=0|<video>|<folder>] [headless=true output=<file.mp4>]"""

from fer.cli import app
from fer.apps.webcam import run


@app("webcam")
def main(cfg) -> None:
    result = run(cfg)
    print(f"{result['frames']} frames at {result['fps']:.1f} frames/s" +
          (f"; wrote {result['output']} and its .csv" if result["output"] else ""))


if __name__ == "__main__":
    main()
