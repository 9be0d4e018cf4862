"""Callbacks Lightning does not ship."""

from __future__ import annotations

import lightning as L
from lightning.fabric.utilities.seed import seed_everything


class ReseedEachEpoch(L.Callback):
    """Reseed every RNG from (seed, epoch) when an epoch starts.

    Dropout and augmentation then depend only on the seed and the epoch number, so a run resumed
    from an epoch-end checkpoint continues exactly as the uninterrupted run would have.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seed_everything(self.seed * 1000 + trainer.current_epoch, workers=True, verbose=False)
