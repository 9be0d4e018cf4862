"""Convert a dataset: python scripts/prepare_data.py source=<zip|dir|csv|npz> output=<path> format=folder|csv|npz"""

from fer.cli import app
from fer.data.prepare import convert, counts_table


@app("prepare_data")
def main(cfg) -> None:
    counts = convert(cfg.source, cfg.output, cfg.format, channels=cfg.channels, image_size=cfg.image_size,
                     skip_corrupt=cfg.skip_corrupt, overwrite=cfg.overwrite)
    print(f"{cfg.source} -> {cfg.output} ({cfg.format})\n{counts_table(counts)}")


if __name__ == "__main__":
    main()
