"""Score a checkpoint: python scripts/eval.py ckpt_path=<ckpt> [data=folder|csv|npz data.source=<path>] [split=test]"""

import hydra
from omegaconf import DictConfig

from fer.config import CONFIG_DIR
from fer.eval import evaluate
from fer.summary import format_run


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="eval")
def main(cfg: DictConfig) -> None:
    print(format_run(evaluate(cfg)))


if __name__ == "__main__":
    main()
