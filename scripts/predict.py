"""Emotions in photos: python scripts/predict.py input=<image|folder|glob> [output_dir=<dir>] [model_file=accurate|fast|<model.pt|.ckpt>]"""

import sys

import hydra
from omegaconf import DictConfig

from fer.config import CONFIG_DIR
from fer.predict import format_labelled, predict


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="predict")
def main(cfg: DictConfig) -> None:
    try:
        summary = predict(cfg)
    except FileNotFoundError as err:
        sys.exit(f"error: {err}")
    print(f"{summary['images']} images read, {summary['faces']} faces; "
          f"{summary['output']}/predictions.csv and annotated/")
    if summary["unreadable"]:
        names = ", ".join(summary["unreadable"][:10])
        print(f"{len(summary['unreadable'])} unreadable (corrupt, or not an image): {names}", file=sys.stderr)
    if "labelled" in summary:
        print(format_labelled(summary["labelled"]))
    if summary["images"] == 0:
        sys.exit("error: no input could be read")


if __name__ == "__main__":
    main()
