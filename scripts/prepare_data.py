"""Convert a dataset: python scripts/prepare_data.py source=<zip|dir|csv|npz> output=<path> format=folder|csv|npz"""

import sys

import hydra
from omegaconf import DictConfig

from fer.config import CONFIG_DIR
from fer.data.arrays import DataError
from fer.data.prepare import convert, counts_table


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="prepare_data")
def main(cfg: DictConfig) -> None:
    try:
        counts = convert(cfg.source, cfg.output, cfg.format, channels=cfg.channels, image_size=cfg.image_size,
                         skip_corrupt=cfg.skip_corrupt)
    except DataError as err:
        sys.exit(f"error: {err}")
    print(f"{cfg.source} -> {cfg.output} ({cfg.format})\n{counts_table(counts)}")


if __name__ == "__main__":
    main()
