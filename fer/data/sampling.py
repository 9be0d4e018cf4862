"""Index-level data handling: stratified splits and the epoch-seeded batch sampler with class balancing."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

BALANCE_STRATEGIES = ("none", "loss_weights", "weighted_sampler", "oversample")


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, taken): ``fraction`` of every class taken, the same rows for the same seed."""
    rng = np.random.default_rng(seed)
    taken = []
    for cls in np.unique(labels):
        rows = np.flatnonzero(labels == cls)
        count = int(round(fraction * len(rows)))
        taken.append(rng.choice(rows, size=count, replace=False))
    taken = np.sort(np.concatenate(taken)) if taken else np.array([], np.int64)
    kept = np.setdiff1d(np.arange(len(labels)), taken)
    return kept, taken


def balanced_weights(counts: np.ndarray) -> np.ndarray:
    """Per-class weights n / (k * count_c) (scikit-learn's 'balanced'); absent classes get 0."""
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


class BalancedBatchSampler(Sampler[torch.Tensor]):
    """Yields batches of indices; the order depends only on (seed, epoch), so resumed runs repeat it.

    ``weighted_sampler`` draws len(labels) rows per epoch with probability inverse to class size;
    ``oversample`` tops each class up to ``per_class`` rows by repeating random members (classes
    already larger keep all their rows), so augmentation makes the copies differ.

    Under data parallelism (``num_replicas`` processes) every process draws the same epoch order
    and keeps every ``num_replicas``-th batch from its ``rank`` on, so the shards never overlap,
    balancing holds across them, and all processes take the same number of steps.
    """

    def __init__(self, labels: np.ndarray, batch_size: int, strategy: str = "none", per_class: int | None = None,
                 seed: int = 0, drop_last: bool = True, num_replicas: int = 1, rank: int = 0) -> None:
        if strategy not in BALANCE_STRATEGIES:
            raise ValueError(f"balance strategy {strategy!r} is not one of {BALANCE_STRATEGIES}")
        if strategy == "oversample" and not per_class:
            raise ValueError("balance.strategy=oversample needs balance.per_class (e.g. 7000)")
        self.labels = torch.as_tensor(labels)
        self.batch_size, self.strategy, self.per_class = batch_size, strategy, per_class
        self.seed, self.drop_last, self.epoch = seed, drop_last, 0
        self.num_replicas, self.rank = num_replicas, rank
        self.skip = 0  # batches of the next epoch already trained on (a run resumed mid-epoch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def epoch_indices(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        n = len(self.labels)
        if self.strategy == "weighted_sampler":
            counts = torch.bincount(self.labels).double()
            weights = (1.0 / counts)[self.labels]
            return torch.multinomial(weights, n, replacement=True, generator=generator)
        if self.strategy == "oversample":
            parts = []
            for cls in torch.unique(self.labels):
                rows = torch.nonzero(self.labels == cls).flatten()
                extra = max(0, self.per_class - len(rows))
                parts += [rows, rows[torch.randint(len(rows), (extra,), generator=generator)]]
            pool = torch.cat(parts)
            return pool[torch.randperm(len(pool), generator=generator)]
        return torch.randperm(n, generator=generator)

    def __iter__(self) -> Iterator[torch.Tensor]:
        order = self.epoch_indices()
        batches = torch.split(order[: self._usable(len(order))], self.batch_size)
        skip, self.skip = self.skip, 0
        yield from batches[self.rank + skip * self.num_replicas: len(self) * self.num_replicas: self.num_replicas]

    def _usable(self, size: int) -> int:
        """Drop a ragged last batch (BatchNorm dislikes tiny ones), unless it is the only batch."""
        return size - size % self.batch_size if self.drop_last and size >= self.batch_size else size

    def epoch_size(self) -> int:
        if self.strategy == "oversample":
            counts = torch.bincount(self.labels)
            return int(torch.clamp(counts[counts > 0], min=self.per_class).sum())
        return len(self.labels)

    def __len__(self) -> int:
        """Batches per process: whole rounds of one batch per process."""
        return -(-self._usable(self.epoch_size()) // self.batch_size) // self.num_replicas


def shard_batches(size: int, batch_size: int, num_replicas: int = 1, rank: int = 0) -> list[torch.Tensor]:
    """In-order evaluation batches of this process's rows (every ``num_replicas``-th from ``rank``).

    Rows, not batches, are dealt out, so every process gets work whenever there are at least as
    many rows as processes, and no row is scored twice (no padding, unlike DistributedSampler):
    metrics synchronised across processes equal the single-process ones.
    """
    return list(torch.split(torch.arange(rank, size, num_replicas), batch_size))
