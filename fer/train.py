"""train(cfg): the story ``scripts/train.py`` tells."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, Timer
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from fer.config import instantiate_group, precision_note, write_json
from fer.errors import ConfigError, InputFileError
from fer.inference.model import export_checkpoint, initialize_from, read_model_file

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict:
    """Fit, test the best checkpoint on the test split, write ``metrics.json``; return the metrics."""
    cfg = resumed(cfg) if cfg.get("resume") else cfg
    if cfg.ckpt_path and "global_step" not in read_model_file(cfg.ckpt_path):
        raise InputFileError(f"ckpt_path={cfg.ckpt_path}: an exported model holds no training state; "
                             "give a Lightning .ckpt (or resume=<run>)")
    L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")  # the data's classes and counts size the model and weigh the loss
    module = instantiate(cfg.module, model=cfg.model, preprocessing=datamodule.preprocessing(),
                         class_weights=datamodule.loss_weights(), _recursive_=False)
    if cfg.get("init") and not cfg.ckpt_path:  # a checkpoint (resume=) brings its own weights
        initialize_from(module, cfg.init)
    trainer = instantiate(cfg.trainer, callbacks=instantiate_group(cfg.callbacks),
                          logger=instantiate_group(cfg.logger) or False)

    log.info(precision_note(trainer.precision))
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path, weights_only=True)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    tested = {}
    if cfg.test:  # the weights the best checkpoint holds (the averaged ones under callbacks=ema), as eval loads them
        if best:
            module = type(module).load_from_checkpoint(best, map_location=module.device, weights_only=True)
        tested = trainer.test(module, datamodule=datamodule, verbose=False)[0]

    metrics = run_metrics(trainer, tested, best, cfg.model.name)
    if trainer.is_global_zero:  # one writer under data parallelism
        write_json(metrics, Path(cfg.paths.output_dir) / "metrics.json")
        log_hparams(trainer, cfg, metrics)
        if best:  # the one small file predict.py and webcam.py take
            export_checkpoint(best, Path(cfg.paths.output_dir) / "model.pt", metadata=metrics)
    return metrics


def resumed(cfg: DictConfig) -> DictConfig:
    """``resume=<run>``: that run's saved config, its newest checkpoint, and this command's other overrides.

    Checked before anything is written: a run directory without a saved config or a checkpoint is an
    error, and so is an override that would swap a config group (a resumed run keeps its model).
    """
    run = Path(cfg.resume)
    saved = run / ".hydra" / "config.yaml"
    if not saved.is_file():
        raise InputFileError(f"resume={run}: not a training run directory (no .hydra/config.yaml in it)")
    candidates = [run / "checkpoints" / name for name in ("interrupted.ckpt", "last.ckpt")]
    candidates = [p for p in candidates if p.is_file()]
    if not candidates:
        raise InputFileError(f"resume={run}: no checkpoints/last.ckpt or checkpoints/interrupted.ckpt to resume from "
                             "(the run stopped before its first checkpoint); start it again instead")
    newest = max(candidates, key=lambda p: torch.load(p, map_location="cpu", weights_only=True)["global_step"])
    resumed_cfg = OmegaConf.load(saved)
    overrides = HydraConfig.get().overrides.task if HydraConfig.initialized() else []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.key_or_group
        if key in ("resume", "ckpt_path") or key.startswith("hydra"):
            continue
        group_swap = isinstance(OmegaConf.select(resumed_cfg, key), DictConfig) and isinstance(override.value(), str)
        if group_swap or override.is_delete():
            raise ConfigError(f"{override.input_line}: a resumed run keeps its config groups and keys; "
                              "start a new run to change them")
        OmegaConf.update(resumed_cfg, key, override.value(), merge=True, force_add=override.is_force_add())
    resumed_cfg.resume, resumed_cfg.ckpt_path = str(run), str(newest)
    log.info("resuming %s from %s", run, newest)
    return resumed_cfg


def log_hparams(trainer: L.Trainer, cfg: DictConfig, metrics: dict) -> None:
    """TensorBoard's HPARAMS tab: the choices that define the run beside its final scores, so runs compare."""
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    params = {f"group/{k}": str(v) for k, v in choices.items() if not k.startswith("hydra") and v is not None}
    params.update({"lr": cfg.module.optimizer.get("lr"), "weight_decay": cfg.module.optimizer.get("weight_decay"),
                   "batch_size": cfg.data.batch_size, "max_epochs": cfg.trainer.max_epochs,
                   "label_smoothing": cfg.module.get("label_smoothing"), "dropout": cfg.model.get("dropout"),
                   "seed": cfg.seed, "precision": str(trainer.precision)})
    scores = {f"hparams/{k}": v for k, v in metrics.items()
              if k in ("val_acc", "test_acc", "test_f1_macro", "best_epoch", "train_seconds") and v is not None}
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams({k: v for k, v in params.items() if v is not None}, scores)


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
