"""Lightning's own callbacks, adjusted where a user reads them: epochs counted from 1 everywhere, a
whole-run time estimate, and a checkpoint written on Ctrl-C or SIGTERM at the next batch."""

from __future__ import annotations

import logging
import signal
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch import callbacks

from fer.errors import ConfigError

log = logging.getLogger(__name__)


class ModelCheckpoint(callbacks.ModelCheckpoint):
    """Checkpoint names count epochs from 1 (``best-epoch001`` is the first epoch), as metrics.json does."""

    def format_checkpoint_name(self, metrics: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        if "epoch" in metrics:
            metrics = {**metrics, "epoch": metrics["epoch"] + 1}
        return super().format_checkpoint_name(metrics, *args, **kwargs)


class InterruptCheckpoint(callbacks.Checkpoint):
    """A checkpoint when a run is interrupted (Ctrl-C, SIGTERM, an error), exact for Ctrl-C.

    Lightning stops a run on SIGTERM after the batch in progress, so the checkpoint written then holds
    whole batches. A Ctrl-C, though, lands wherever the program happens to be, perhaps inside an
    optimiser step; here the first one asks the run to stop before the next batch instead, so
    ``resume=<run>`` continues exactly. A second Ctrl-C stops at once. (Lightning's own
    OnExceptionCheckpoint also makes every fresh ``fit`` look for a ``last`` checkpoint to resume from,
    silently; a fresh run here starts fresh, and resuming is asked for by ``resume=<run>``.)
    """

    def __init__(self, dirpath: str, filename: str = "interrupted") -> None:
        self.path = Path(dirpath) / f"{filename}.ckpt"
        self._asked = False
        self._previous_handler = None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        trainer.save_checkpoint(self.path)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """A run that ends normally leaves no interrupted checkpoint behind (a resumed one, its old one)."""
        if stage == "fit" and trainer.is_global_zero:
            self.path.unlink(missing_ok=True)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._ask_to_stop)

    def _ask_to_stop(self, signum: int, frame: Any) -> None:
        if self._asked:
            raise KeyboardInterrupt
        self._asked = True
        print("\nstopping before the next batch and saving checkpoints/interrupted.ckpt (Ctrl-C again: stop now)",
              file=sys.stderr, flush=True)

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if self._asked:
            raise KeyboardInterrupt

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None


class TailAveraging(callbacks.WeightAveraging):
    """Stochastic weight averaging under the run's own schedule: the equal average of the weights after
    every optimiser step of the last ``fraction`` of training (BatchNorm statistics averaged alike).

    Lightning's StochasticWeightAveraging replaces the learning-rate schedule with a constant SWA rate
    and puts the average into the model only after the last validation, so selecting a checkpoint on
    PublicTest would never see it. Here the one-cycle tail's small steps are what is averaged, and
    once averaging has begun, validation, checkpoints, test and export use the average (as
    ``callbacks=ema`` does); before that they use the current weights, so the curves stay readable.
    """

    def __init__(self, fraction: float = 0.25, **kwargs: Any) -> None:
        if not 0 < fraction <= 1:
            raise ConfigError(f"callbacks.tail_averaging.fraction={fraction}: expected a share of training in (0, 1]")
        super().__init__(**kwargs)
        self.fraction = fraction
        self.first_step = 0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if stage == "fit":
            self.first_step = int((1 - self.fraction) * trainer.estimated_stepping_batches)

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None and step_idx >= self.first_step

    @property
    def averaging(self) -> bool:
        return self._average_model is not None and int(self._average_model.n_averaged) > 0

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.averaging:
            super().on_validation_epoch_start(trainer, pl_module)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.averaging:
            super().on_validation_epoch_end(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.averaging:
            super().on_train_end(trainer, pl_module)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        if self.averaging:
            super().on_save_checkpoint(trainer, pl_module, checkpoint)

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        """A checkpoint from before the tail holds the current weights only; the average starts afresh."""
        if "current_model_state" in checkpoint:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)


class ProgressBar(callbacks.TQDMProgressBar):
    """TQDM bar labelled ``Epoch 3/40`` and, after each epoch, one log line with the whole run's estimated time."""

    def __init__(self, refresh_rate: int = 10) -> None:
        super().__init__(refresh_rate=refresh_rate)
        self._epoch_started = 0.0
        self._epoch_seconds: list[float] = []

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any) -> None:
        super().on_train_epoch_start(trainer, *args)
        self._epoch_started = time.perf_counter()
        total = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        self.train_progress_bar.set_description(f"Epoch {trainer.current_epoch + 1}{total}")

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_epoch_end(trainer, pl_module)
        if trainer.sanity_checking or not self._epoch_started:
            return
        self._epoch_seconds.append(time.perf_counter() - self._epoch_started)
        self._epoch_started = 0.0
        if trainer.is_global_zero:
            log.info(eta_line(trainer.current_epoch + 1, trainer.max_epochs, self._epoch_seconds,
                              early_stopping=trainer.early_stopping_callback is not None))


def eta_line(done: int, total: int | None, seconds: list[float], early_stopping: bool = False) -> str:
    """``epoch 1/40: 112 s (train + val); whole run about 1 h 15 min, about 1 h 13 min left``."""
    last = seconds[-1]
    typical = statistics.median_low(seconds)  # not the mean: the first epoch also pays for warm-up
    line = f"epoch {done}/{total}: {last:.0f} s (train + val)" if total and total > 0 else f"epoch {done}: {last:.0f} s"
    if total and total > done:
        left = typical * (total - done)
        line += f"; whole run about {_duration(sum(seconds) + left)}, about {_duration(left)} left"
        line += " (less if early stopping ends it)" if early_stopping else ""
    return line


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{max(minutes, 1)} min"
