"""evaluate(cfg): score any checkpoint on any split of any supported dataset."""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from fer.config import instantiate_group, write_json
from fer.inference.model import load_model


def evaluate(cfg: DictConfig) -> dict:
    """Test ``cfg.ckpt_path`` (a Lightning checkpoint or an exported model.pt) on ``cfg.split`` of ``cfg.data``;
    write and return ``metrics.json``.

    The data is read at the checkpoint's own size and channels, and its classes are matched to
    the model's by name (a class the model never saw is an error).
    """
    module = load_model(cfg.ckpt_path)
    pre = module.hparams.preprocessing
    datamodule = instantiate(cfg.data, image_size=pre["image_size"], channels=pre["channels"])
    datamodule.setup("test")
    datamodule.test_split = cfg.split if datamodule.arrays.structured else "all"
    datamodule.align_classes(module.classes)
    module.tta = cfg.tta
    trainer = instantiate(cfg.trainer, callbacks=instantiate_group(cfg.callbacks),
                          logger=instantiate_group(cfg.logger) or False)
    tested = trainer.test(module, datamodule=datamodule, verbose=False)[0]
    metrics = {"model": module.hparams.model["name"], "checkpoint": str(cfg.ckpt_path), "source": str(cfg.data.source),
               "split": datamodule.test_split, "tta": cfg.tta, "images": len(datamodule.split_index[datamodule.test_split]),
               **{k: float(v) for k, v in tested.items()}}
    write_json(metrics, Path(cfg.paths.output_dir) / "metrics.json")
    return metrics
