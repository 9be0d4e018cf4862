"""Train a model: python scripts/train.py [model=bn_cnn] [data.source=fer2013.zip] [experiment=seed004] [-m ...]"""

import hydra
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from fer.config import CONFIG_DIR
from fer.summary import format_run
from fer.train import train


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics = train(cfg)
    rank_zero_only(print)(format_run(metrics))  # once, also under data parallelism
    return metrics.get(cfg.optimized_metric)  # the objective of hyper-parameter sweeps


if __name__ == "__main__":
    main()
