"""evaluate(cfg): score any checkpoint on any split of any supported dataset."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from fer.config import instantiate_group, write_json
from fer.inference.model import load_model, model_path


def evaluate(cfg: DictConfig) -> dict:
    """Test ``cfg.ckpt_path`` (a Lightning checkpoint, an exported model.pt or a bundled model's name) on
    ``cfg.split`` of ``cfg.data``;
    write and return ``metrics.json``.

    The data is read at the checkpoint's own size and channels, and its classes are matched to
    the model's by name (a class the model never saw is an error).
    """
    module = load_model(model_path(cfg.ckpt_path))
    pre = module.hparams.preprocessing
    datamodule = instantiate(cfg.data, image_size=pre["image_size"], channels=pre["channels"])
    datamodule.setup("test")
    datamodule.test_split = cfg.split if datamodule.arrays.structured else "all"
    datamodule.align_classes(module.classes)
    module.tta = cfg.tta
    trainer = instantiate(cfg.trainer, callbacks=instantiate_group(cfg.callbacks),
                          logger=instantiate_group(cfg.logger) or False)
    L.seed_everything(cfg.seed, verbose=False)  # a random shift= draws the same changes every time
    tested = trainer.test(module, datamodule=datamodule, verbose=False)[0]
    metrics = {"model": module.hparams.model["name"], "checkpoint": str(cfg.ckpt_path), "source": str(cfg.data.source),
               "split": datamodule.test_split, "tta": cfg.tta, "shift": shift_name(cfg),
               "images": len(datamodule.split_index[datamodule.test_split]), **{k: float(v) for k, v in tested.items()}}
    write_json(metrics, Path(cfg.paths.output_dir) / "metrics.json")
    return metrics


def shift_name(cfg: DictConfig) -> str:
    """The ``shift=`` choice (the transform's class where the config was composed without Hydra's runtime)."""
    if HydraConfig.initialized() and HydraConfig.get().runtime.choices.get("shift"):
        return HydraConfig.get().runtime.choices["shift"]
    transform = cfg.data.get("test_transform")
    return transform["_target_"].rsplit(".", 1)[-1] if transform else "none"
