"""Training throughput as ``scripts/train.py`` trains: the composed config, FERDataModule, FERModule and the
Lightning Trainer, on a synthetic FER-shaped NPZ (the numbers do not depend on pixel values)."""

from __future__ import annotations

import contextlib
import gc
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

from benchmarks.machine import native_precisions, peak_rss_mb, reset_peak_rss
from fer.config import CONFIG_DIR
from fer.models import create_model

FER2013_TRAIN_IMAGES = 28_709
WARMUP_STEPS = 3


def composed(config: str, overrides: list[str] | None = None):
    """A config of this project as its script composes it (inside scripts/bench.py's own Hydra run, too)."""
    if GlobalHydra.instance().is_initialized():
        return compose(config, overrides=overrides or [])
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return compose(config, overrides=overrides or [])


@contextlib.contextmanager
def quiet():
    """Lightning's per-fit banners and warnings, once per measurement, would bury the tables."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


class StepClock(L.Callback):
    """When each training batch ended: the loop's steady-state rate, data fetch and augmentation included."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_train_batch_end(self, *args) -> None:
        self.ends.append(time.perf_counter())

    def seconds_per_step(self) -> float:
        return statistics.median(np.diff(self.ends[WARMUP_STEPS - 1:]))


def synthetic_npz(directory: Path, images: int, image_size: int = 48) -> Path:
    rng = np.random.default_rng(0)
    path = directory / "synthetic.npz"
    np.savez(path, images=rng.integers(0, 256, (images, image_size, image_size), dtype=np.uint8),
             labels=np.arange(images) % 7)
    return path


def synthetic_run(model: str, source: Path, batch_size: int, cache: str) -> list[str]:
    """``train.py`` overrides that time ``model`` alone: the synthetic NPZ (FER-2013's seven classes), no held-out
    splits, no augmentation, mixing or schedule."""
    return [f"model={model}", "data=npz", f"data.source={source}", "data.reader.label_order=fer2013",
            f"data.batch_size={batch_size}",
            "data.val_fraction=0", "data.test_fraction=0", f"data.cache_dir={cache}", "augment=none", "mix=none",
            "scheduler=none"]


def fit_rate(overrides: list[str], steps: int) -> float:
    """Images/s of ``scripts/train.py <overrides>`` in steady state (median step after warm-up)."""
    cfg = composed("train", ["logger=none", "++trainer.limit_val_batches=0",
                             f"++trainer.max_steps={WARMUP_STEPS + steps}", "++trainer.enable_checkpointing=false",
                             "++trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
                             "paths.output_dir=unused", *overrides])
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    module = instantiate(cfg.module, model=cfg.model, preprocessing=datamodule.preprocessing(), _recursive_=False)
    clock = StepClock()
    trainer = instantiate(cfg.trainer, callbacks=[clock], logger=False)
    with quiet():
        trainer.fit(module, datamodule=datamodule)
    return cfg.data.batch_size / clock.seconds_per_step()


def forward_flops(name: str) -> int:
    from lightning.fabric.utilities.throughput import measure_flops

    model = create_model(name).eval()
    with torch.no_grad():
        return measure_flops(model, lambda: model(torch.zeros(1, 1, 48, 48)))


def training_throughput(models: list[str], batch_sizes: list[int], steps: int, ceiling: dict) -> dict:
    """Images/s of ``train.py model=<name>`` (AdamW, no augmentation or mixing: the model's step and the loop),
    per batch size, precision (bf16 only where native) and memory format."""
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = synthetic_npz(Path(tmp), max(batch_sizes) * (WARMUP_STEPS + steps + 2))
        for name in models:
            flops = forward_flops(name)
            for batch_size in batch_sizes:
                rows = {}
                gc.collect()
                reset_peak_rss()
                for precision in native_precisions():
                    for channels_last in (False, True):
                        images_per_s = fit_rate(
                            [*synthetic_run(name, source, batch_size, f"{tmp}/cache"), f"trainer.precision={precision}",
                             f"module.channels_last={channels_last}"], steps)
                        bf16 = precision.startswith("bf16")
                        key = f"{'bf16' if bf16 else 'fp32'}{'+channels_last' if channels_last else ''}"
                        rows[key] = {"images_per_s": images_per_s,  # backward costs about twice the forward
                                     "ceiling_fraction": 3 * flops * images_per_s /
                                     (ceiling["bfloat16" if bf16 else "float32"] * 1e9),
                                     "epoch_seconds": FER2013_TRAIN_IMAGES / images_per_s}
                base = rows["fp32"]["images_per_s"]
                for row in rows.values():
                    row["speedup_vs_fp32"] = row["images_per_s"] / base
                result[f"{name}@{batch_size}"] = {"model": name, "batch_size": batch_size,
                                                  "mflops_per_image": flops / 1e6, "peak_rss_mb": peak_rss_mb(), **rows}
    return result
