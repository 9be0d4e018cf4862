"""Emotions in photos: python scripts/predict.py input=<image|folder|glob> [output_dir=<dir>] [model_file=accurate|fast|<model.pt|.ckpt>]"""

import sys

from fer.cli import app
from fer.errors import DataError
from fer.apps.predict import format_labelled, predict


@app("predict")
def main(cfg) -> None:
    summary = predict(cfg)
    print(f"{summary['images']} images read, {summary['faces']} faces; "
          f"{summary['output']}/predictions.csv and annotated/")
    if summary["unreadable"]:
        names = ", ".join(summary["unreadable"][:10])
        print(f"{len(summary['unreadable'])} unreadable (corrupt, or not an image): {names}", file=sys.stderr)
    if "labelled" in summary:
        print(format_labelled(summary["labelled"]))
    if summary["images"] == 0:
        raise DataError(f"{cfg.input}: no input could be read")


if __name__ == "__main__":
    main()
