"""The data path as training runs it: the first decode of a source into the cache, and the images/s the
DataModule serves per augmentation preset (sampler, collation and batch augmentation) inside a Trainer."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import lightning as L
from hydra.utils import instantiate

from benchmarks.training import StepClock, composed, quiet
from fer.config import CONFIG_DIR

AUGMENT_PRESETS = tuple(sorted(p.stem for p in (Path(CONFIG_DIR) / "augment").glob("*.yaml")))


class Idle(L.LightningModule):
    """Takes batches and learns nothing: what is left to time is the data path."""

    def training_step(self, batch, batch_idx):
        return None  # Lightning skips the optimisation step

    def configure_optimizers(self):
        return None


def cache_build(source: Path) -> dict:
    """Seconds to decode the whole source into a fresh cache (a new user's first run), and to load it again."""
    with tempfile.TemporaryDirectory() as cache:
        cfg = composed("train", ["paths.output_dir=unused", f"data.source={source}", f"data.cache_dir={cache}"])
        start = time.perf_counter()
        datamodule = instantiate(cfg.data)
        datamodule.prepare_data()
        cold = time.perf_counter() - start
        start = time.perf_counter()
        instantiate(cfg.data).setup()
        warm = time.perf_counter() - start
    return {"cold_seconds": cold, "warm_load_seconds": warm, "images": sum(datamodule.split_sizes().values())}


def loader_throughput(source: Path, batches: int, batch_size: int = 128) -> dict:
    """Augmented training images per second served by the DataModule to a Trainer, per augmentation preset."""
    result = {}
    for preset in AUGMENT_PRESETS:
        cfg = composed("train", ["paths.output_dir=unused", f"augment={preset}", f"data.source={source}",
                                 f"data.batch_size={batch_size}"])
        clock = StepClock()
        trainer = L.Trainer(max_steps=batches, limit_val_batches=0, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False, callbacks=[clock])
        with quiet():
            trainer.fit(Idle(), datamodule=instantiate(cfg.data))
        result[preset] = batch_size / clock.seconds_per_step()
    return result
