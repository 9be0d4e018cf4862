"""The one DataModule: formats differ only in the reader it is given."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.fabric.utilities.seed import seed_everything
from torch.utils.data import DataLoader

from fer.data.arrays import SPLITS, FaceArrays
from fer.data.cache import read_cached
from fer.data.sampling import BalancedBatchSampler, balanced_weights, shard_batches, stratified_split
from fer.errors import DataError

log = logging.getLogger(__name__)


class IndexedTensors(torch.utils.data.Dataset):
    """Tensors indexed a whole batch at a time: one gather per batch, no per-image Python.

    ``soft_targets`` (per-face class probabilities, e.g. distillation's cached teacher answers) come
    with the batch as a third tensor when given.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, soft_targets: torch.Tensor | None = None) -> None:
        self.images, self.labels, self.soft_targets = images, labels, soft_targets

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> tuple[torch.Tensor, ...]:
        batch = self.images[index], self.labels[index]
        return batch if self.soft_targets is None else (*batch, self.soft_targets[index])


class FERDataModule(L.LightningDataModule):
    """Faces from any source, split train / val / test, balanced, batched as uint8, augmented as floats.

    Splits come from the source where it has them (FER-2013: val = PublicTest, test = PrivateTest);
    otherwise a stratified, seeded ``val_fraction`` / ``test_fraction`` of train is held out.
    Batches leave the loader as uint8 and become float [0, 1] after transfer to the device, where
    training batches are augmented; normalisation belongs to the model (see fer.module).
    ``mix`` (torchvision's MixUp / CutMix) then blends whole training batches, turning their
    labels into class probabilities. ``soft_targets`` ([train faces, classes] probabilities, set before
    fitting: distillation's cached teacher answers, fer.distill) travel with each training face and are
    mixed with the same weights as its label. ``subset`` keeps a seeded, stratified fraction of every split.
    ``test_transform`` changes every validation and test batch alike (eval.py's ``shift=``): faces
    rotated, scaled or blurred unlike FER-2013's, to see how a model holds up on photos prepared otherwise.
    ``resize`` (``ProgressiveResize``) shrinks the training batches of early epochs.
    """

    def __init__(self, source: str | Path, reader: Callable[..., FaceArrays], image_size: int = 48,
                 channels: int = 1, batch_size: int = 128, eval_batch_size: int = 512, val_fraction: float = 0.1,
                 test_fraction: float = 0.1, split_seed: int = 0, augment: Callable | None = None,
                 mix: Callable | None = None,
                 balance: dict | None = None, skip_corrupt: bool = False, cache_dir: str | Path | None = None,
                 num_workers: int = 0, seed: int = 0, test_split: str = "test", subset: float | None = None,
                 test_transform: Callable | None = None, resize: Callable | None = None) -> None:
        super().__init__()
        balance = dict(balance or {})  # BalancedBatchSampler's arguments (its defaults: no balancing); a plain
        # checkpoints hold plain data only
        self.save_hyperparameters(ignore=["reader", "augment", "mix", "test_transform", "resize"])
        self.source, self.reader = Path(source), reader
        self.image_size, self.channels = image_size, channels
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.val_fraction, self.test_fraction, self.split_seed = val_fraction, test_fraction, split_seed
        self.augment, self.mix, self.test_transform, self.resize = augment, mix, test_transform, resize
        self.balance = balance
        self.test_split = test_split
        self.skip_corrupt, self.cache_dir, self.num_workers = skip_corrupt, cache_dir, num_workers
        self.arrays: FaceArrays | None = None
        self.split_index: dict[str, np.ndarray] = {}
        self.sample_seed = seed
        self.subset = subset
        self.soft_targets: torch.Tensor | None = None

    # ------------------------------------------------------------------ reading and splitting
    def prepare_data(self) -> None:
        """Decode the source once into the cache (runs on one process only)."""
        self._read()

    def _read(self) -> FaceArrays:
        return read_cached(self.source, self.reader, self.cache_dir, image_size=self.image_size,
                           channels=self.channels, skip_corrupt=self.skip_corrupt)

    def setup(self, stage: str | None = None) -> None:
        if self.arrays is not None:
            return
        self.arrays = arrays = self._read()
        index = {split: np.flatnonzero(arrays.splits == split) for split in SPLITS}
        remaining = 1.0  # fractions are of the source's whole train split
        for split, fraction in (("test", self.test_fraction), ("val", self.val_fraction)):
            if len(index[split]) == 0 and len(index["train"]) and fraction > 0:
                kept, taken = stratified_split(arrays.labels[index["train"]], fraction / remaining, self.split_seed)
                index["train"], index[split] = index["train"][kept], index["train"][taken]
                remaining -= fraction
        index["all"] = np.arange(len(arrays))  # a source without splits is evaluated whole
        if self.subset:  # a seeded, stratified share of every split (debug=limit): its scores still mean something
            index = {split: rows[stratified_split(arrays.labels[rows], self.subset, self.split_seed)[1]]
                     for split, rows in index.items()}
        self.split_index = index
        self.images = torch.from_numpy(arrays.images)
        self.labels = torch.from_numpy(arrays.labels)
        log.info("%s: %s images per split; classes %s (as the source names them: %s); train counts %s",
                 self.source, self.split_sizes(), list(arrays.classes), list(arrays.source_classes),
                 self.class_counts("train"))

    @property
    def classes(self) -> tuple[str, ...]:
        return self._arrays.classes

    @property
    def _arrays(self) -> FaceArrays:
        """The data, read on first use (setup is idempotent)."""
        self.setup()
        return self.arrays

    def split_sizes(self) -> dict[str, int]:
        self.setup()
        return {split: len(self.split_index[split]) for split in SPLITS}

    def class_counts(self, split: str = "train") -> dict[str, int]:
        labels = self._arrays.labels[self.split_index[split]]
        return dict(zip(self.classes, np.bincount(labels, minlength=len(self.classes)).tolist(), strict=True))

    def class_weights(self) -> list[float]:
        """Inverse-frequency weights of the train split, in class order."""
        return balanced_weights(np.array(list(self.class_counts("train").values()))).tolist()

    def loss_weights(self) -> list[float] | None:
        """Class weights for the loss when balancing by loss weights, else None."""
        return self.class_weights() if self.balance.get("strategy") == "loss_weights" else None

    def preprocessing(self) -> dict[str, Any]:
        """What inference must repeat: saved with the weights, read back by fer.inference."""
        return {"image_size": self.image_size, "channels": self.channels, "classes": list(self.classes)}

    def align_classes(self, classes: list[str]) -> None:
        """Renumber labels into another class order (a model's), matching classes by name."""
        unknown = [c for c in self.classes if c not in classes]
        if unknown:
            raise DataError(f"{self.source}: the model does not know the class(es) {unknown}; it was trained on "
                            f"{list(classes)}: leave those class folders out, or run predict.py input=<folder>, which "
                            "scores the classes the model has and counts the others")
        mapping = torch.tensor([classes.index(c) for c in self.classes])
        self.labels = mapping[self.labels]
        self.arrays.labels = self.labels.numpy()
        self.arrays.classes = tuple(classes)

    # ------------------------------------------------------------------ loaders
    def split_tensors(self, split: str) -> IndexedTensors:
        self.setup()
        rows = torch.from_numpy(self.split_index[split])
        return IndexedTensors(self.images[rows], self.labels[rows])

    def _loader(self, dataset: IndexedTensors, sampler) -> DataLoader:
        return DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def _replicas(self) -> tuple[int, int]:
        """(processes, this process's rank) of a data-parallel run; (1, 0) otherwise."""
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def train_dataloader(self) -> DataLoader:
        data = self.split_tensors("train")
        if self.soft_targets is not None:
            if len(self.soft_targets) != len(data):
                raise ValueError(f"soft_targets has {len(self.soft_targets)} rows for {len(data)} training faces")
            data.soft_targets = self.soft_targets
        replicas, rank = self._replicas()
        sampler = BalancedBatchSampler(data.labels.numpy(), self.batch_size, **self.balance,
                                       seed=self.sample_seed, num_replicas=replicas, rank=rank)
        sampler.skip = self._batches_done_in_resumed_epoch()
        return self._loader(data, sampler)

    def _batches_done_in_resumed_epoch(self) -> int:
        """Batches of the current epoch an interrupted run trained on before its checkpoint (0 at an epoch's start).

        Lightning restores the loop counters, not the data order; skipping those batches of the
        same seeded order makes a resume from a mid-epoch checkpoint continue exactly.
        """
        loop = getattr(self.trainer, "fit_loop", None)
        return loop.epoch_loop.batch_progress.current.completed if loop is not None and loop.restarting else 0

    def eval_dataloader(self, split: str) -> DataLoader:
        data = self.split_tensors(split)
        return self._loader(data, shard_batches(len(data), self.eval_batch_size, *self._replicas()))

    def val_dataloader(self) -> DataLoader:
        return self.eval_dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self.eval_dataloader(self.test_split)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """uint8 -> float [0, 1] on the device; training batches are augmented here, whole.

        Before each training batch every RNG is reseeded from (seed, global step, rank), so its
        augmentation and dropout depend on nothing else: a run resumed from a checkpoint
        continues exactly as the uninterrupted run would have (Lightning restores weights,
        optimiser and loop counters, not random generator states).
        """
        images, labels, *soft = batch if isinstance(batch, (tuple, list)) else (batch, None)
        if images.dtype == torch.uint8:
            images = images.float().div_(255)
        if self.trainer is not None and self.trainer.training and labels is not None:
            step = self.sample_seed * 1_000_003 + self.trainer.global_step + 7_919 * self.trainer.global_rank
            seed_everything(step % 2**32, verbose=False)
            if self.augment is not None:
                images = self.augment(images)
            if self.mix is not None:  # label and soft targets side by side, so both get the batch's weights
                images, mixed = self.mix(images, torch.cat([F.one_hot(labels, len(self.classes)).float(), *soft], 1))
                labels, *soft = mixed.split(len(self.classes), dim=1)
            if self.resize is not None:
                images = self.resize(images, self.trainer.current_epoch, self.trainer.max_epochs)
        elif self.test_transform is not None:
            images = self.test_transform(images)
        return images if labels is None else (images, labels, *soft)
