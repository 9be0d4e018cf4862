"""Train a model: python scripts/train.py [model=bn_cnn] [data.source=fer2013.zip] [experiment=quick] [-m ...]"""

from lightning.pytorch.utilities import rank_zero_only

from fer.cli import app
from fer.summary import format_run
from fer.train import train


@app("train")
def main(cfg) -> float | None:
    metrics = train(cfg)
    rank_zero_only(print)(format_run(metrics))  # once, also under data parallelism
    return metrics.get(cfg.optimized_metric)  # the objective of hyper-parameter sweeps


if __name__ == "__main__":
    main()
