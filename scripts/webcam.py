"""Live emotions: python scripts/webcam.py [source=0|<video>|<folder>] [headless=true output=<file.mp4>]"""

import sys

import hydra
from omegaconf import DictConfig

from fer.config import CONFIG_DIR
from fer.inference.video import SourceError
from fer.webcam import run


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="webcam")
def main(cfg: DictConfig) -> None:
    try:
        result = run(cfg)
    except (SourceError, FileNotFoundError) as err:
        sys.exit(f"error: {err}")
    except __import__("cv2").error as err:
        if "display" in str(err).lower() or "gtk" in str(err).lower() or "qt" in str(err).lower():
            sys.exit("error: cannot open a window here (no display); use headless=true output=<file.mp4>")
        raise
    print(f"{result['frames']} frames at {result['fps']:.1f} frames/s" +
          (f"; wrote {result['output']} and its .csv" if result["output"] else ""))


if __name__ == "__main__":
    main()
