"""train(cfg): the story ``scripts/train.py`` tells."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, Timer
from omegaconf import DictConfig

from fer.config import instantiate_group, write_json
from fer.export import export_checkpoint


def train(cfg: DictConfig) -> dict:
    """Fit, test the best checkpoint on the test split, write ``metrics.json``; return the metrics."""
    L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")  # the data's classes and counts size the model and weigh the loss
    module = instantiate(cfg.module, model=cfg.model, preprocessing=datamodule.preprocessing(),
                         class_weights=datamodule.loss_weights(), _recursive_=False)
    trainer = instantiate(cfg.trainer, callbacks=instantiate_group(cfg.callbacks),
                          logger=instantiate_group(cfg.logger) or False)

    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path, weights_only=True)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    tested = {}
    if cfg.test:  # the weights the best checkpoint holds (the averaged ones under callbacks=ema), as eval loads them
        if best:
            module = type(module).load_from_checkpoint(best, map_location=module.device, weights_only=True)
        tested = trainer.test(module, datamodule=datamodule, verbose=False)[0]

    metrics = run_metrics(trainer, tested, best, model_label(cfg))
    if trainer.is_global_zero:  # one writer under data parallelism
        write_json(metrics, Path(cfg.paths.output_dir) / "metrics.json")
        if best:  # the one small file predict.py and webcam.py take
            export_checkpoint(best, Path(cfg.paths.output_dir) / "model.pt", metadata=metrics)
    return metrics


def model_label(cfg: DictConfig) -> str:
    """The model's config name (``vgg_small``) where Hydra chose one: it says more than the registry name (``vgg``)."""
    if HydraConfig.initialized():
        return HydraConfig.get().runtime.choices.get("model") or cfg.model.name
    return cfg.model.name


def run_metrics(trainer: L.Trainer, tested: dict, best: str, model: str) -> dict:
    """What a run leaves behind: test metrics of the best checkpoint, its epoch and validation score, timing.

    Times are wall seconds of fitting (training and validation) from Lightning's Timer, which
    checkpoints carry: a resumed run counts the epochs it resumed from, not the ones it redid.
    """
    checkpoint: ModelCheckpoint | None = trainer.checkpoint_callback
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)  # also Trainer(max_time=...)'s
    epochs = trainer.current_epoch
    seconds = timer.time_elapsed("train") if timer else None
    metrics = {
        "model": model,
        "epochs": epochs,
        "best_epoch": torch.load(best, map_location="cpu", weights_only=True)["epoch"] + 1 if best else None,
        "val_acc": float(checkpoint.best_model_score) if checkpoint and checkpoint.best_model_score is not None
        else None,
        "best_checkpoint": best or None,
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / epochs if seconds and epochs else None,
        "precision": str(trainer.precision),
    }
    return {**metrics, **{k: float(v) for k, v in tested.items()}}
