"""The DataModule: standard splits for every format, held-out splits, balancing, batches, augmentation."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from conftest import FER2013_COUNTS, synthetic_faces
from fer.config import CONFIG_DIR
from fer.data.datamodule import FERDataModule
from fer.data.prepare import convert
from fer.data.readers import read_npz
from fer.data.sampling import BalancedBatchSampler, shard_batches


def transfer(dm: FERDataModule, batch, training: bool, epoch: int = 0, max_epochs: int = 10):
    """What Lightning does to a batch after moving it to the device, in a training or evaluation loop."""
    dm.trainer = SimpleNamespace(training=training, global_step=0, global_rank=0, world_size=1,
                                 current_epoch=epoch, max_epochs=max_epochs)
    return dm.on_after_batch_transfer(batch, 0)


def compose_data(*overrides: str):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=["paths.output_dir=unused", *overrides]).data


@pytest.mark.parametrize("fmt", ["folder", "csv", "npz"])
def test_fer2013_standard_splits_in_every_format(fer2013_zip, tmp_path_factory, fmt):
    root = tmp_path_factory.getbasetemp() / "formats"
    sources = {"folder": fer2013_zip, "csv": root / "fer2013.csv", "npz": root / "fer2013.npz"}
    if fmt != "folder" and not sources[fmt].exists():
        convert(fer2013_zip, sources[fmt], fmt)
    dm = instantiate(compose_data(f"data={fmt}", f"data.source={sources[fmt]}"))
    dm.prepare_data()
    dm.setup("fit")
    assert dm.split_sizes() == {"train": 28709, "val": 3589, "test": 3589}
    for i, split in enumerate(("train", "val", "test")):
        assert dm.class_counts(split) == {c: counts[i] for c, counts in FER2013_COUNTS.items()}
    images, labels = next(iter(dm.train_dataloader()))
    assert images.dtype == torch.uint8 and images.shape == (128, 1, 48, 48) and labels.dtype == torch.int64


def test_cache_is_reused_and_keyed_by_source_content(tmp_path):
    images, labels = synthetic_faces(70)
    source = tmp_path / "faces.npz"
    np.savez(source, images=images, labels=labels)
    make = lambda: FERDataModule(source, partial(read_npz, label_order="fer2013"), cache_dir=tmp_path / "c")  # noqa
    dm = make()
    dm.prepare_data()
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1
    make().prepare_data()
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1  # same content: cache hit
    np.savez(source, images=255 - images, labels=labels)
    fresh = make()
    fresh.setup()
    assert len(list((tmp_path / "c").glob("*.npz"))) == 2
    assert torch.equal(fresh.images[:, 0], torch.from_numpy(255 - images))


def test_source_without_splits_gets_stratified_seeded_val_and_test(tmp_path):
    images, labels = synthetic_faces(700)
    np.savez(tmp_path / "x.npz", images=images, labels=labels)
    dm = FERDataModule(tmp_path / "x.npz", partial(read_npz, label_order="fer2013"), val_fraction=0.1,
                       test_fraction=0.2, cache_dir=tmp_path)
    dm.setup()
    assert dm.split_sizes() == {"train": 490, "val": 70, "test": 140}
    assert set(dm.class_counts("val").values()) == {10} and set(dm.class_counts("test").values()) == {20}
    again = FERDataModule(tmp_path / "x.npz", partial(read_npz, label_order="fer2013"), val_fraction=0.1,
                          test_fraction=0.2, cache_dir=tmp_path)
    again.setup()
    assert all(np.array_equal(dm.split_index[s], again.split_index[s]) for s in ("train", "val", "test"))
    assert not set(dm.split_index["val"]) & set(dm.split_index["train"])


@pytest.fixture
def imbalanced(tmp_path):
    labels = np.repeat(np.arange(3), [300, 60, 20])
    images = synthetic_faces(len(labels))[0]
    np.savez(tmp_path / "imb.npz", images=images, labels=labels)
    return lambda **kw: FERDataModule(tmp_path / "imb.npz", partial(read_npz, label_order="fer2013"),
                                      val_fraction=0, test_fraction=0, cache_dir=tmp_path, batch_size=32, **kw)


def _epoch_labels(dm) -> np.ndarray:
    dm.setup()
    return torch.cat([labels for _, labels in dm.train_dataloader()]).numpy()


def test_balance_none_serves_every_row_once(imbalanced):
    seen = _epoch_labels(imbalanced())
    assert len(seen) == 380 - 380 % 32 and np.bincount(seen).tolist()[0] > 200


def test_weighted_sampler_draws_classes_evenly(imbalanced):
    counts = np.bincount(_epoch_labels(imbalanced(balance={"strategy": "weighted_sampler"})), minlength=3)
    assert counts.min() > 0.6 * counts.max()


def test_oversample_tops_small_classes_up_and_keeps_large_ones(imbalanced):
    dm = imbalanced(balance={"strategy": "oversample", "per_class": 100}, )
    dm.batch_size = 1000
    counts = np.bincount(_epoch_labels(dm))
    assert counts.tolist() == [300, 100, 100]


def test_loss_weights_are_inverse_frequency(imbalanced):
    dm = imbalanced(balance={"strategy": "loss_weights"})
    dm.setup()
    assert dm.class_counts() == {"angry": 300, "disgust": 60, "fear": 20, "happy": 0, "neutral": 0, "sad": 0,
                                 "surprise": 0}
    weights = dm.loss_weights()
    assert weights[0] == pytest.approx(380 / (3 * 300)) and weights[2] == pytest.approx(380 / (3 * 20))
    assert weights[3] == 0 and imbalanced().loss_weights() is None


def test_batch_order_depends_only_on_seed_and_epoch(imbalanced):
    first, second = imbalanced(seed=1), imbalanced(seed=1)
    for dm in (first, second):
        dm.setup()
    a, b = first.train_dataloader(), second.train_dataloader()
    a.sampler.set_epoch(3), b.sampler.set_epoch(3)
    assert torch.equal(next(iter(a))[1], next(iter(b))[1])
    b.sampler.set_epoch(4)
    assert not torch.equal(next(iter(a))[1], next(iter(b))[1])


@pytest.mark.parametrize("preset", sorted(path.stem for path in (Path(CONFIG_DIR) / "augment").glob("*.yaml")))
def test_augment_presets_apply_to_train_batches_only(tiny_folder, preset):
    dm = instantiate(compose_data(f"augment={preset}", f"data.source={tiny_folder}", "data.batch_size=16"))
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    images, labels = transfer(dm, batch, training=True)
    plain = batch[0].float() / 255
    assert images.dtype == torch.float32 and images.shape == plain.shape and 0 <= images.min() <= images.max() <= 1
    assert torch.equal(images, plain) == (preset == "none")
    assert torch.equal(transfer(dm, batch, training=False)[0], plain)


def test_progressive_resize_shrinks_early_training_batches_only(tiny_folder):
    dm = instantiate(compose_data("resize=progressive", "augment=crop_flip", f"data.source={tiny_folder}",
                                  "data.batch_size=16"))
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    assert transfer(dm, batch, training=True, epoch=4, max_epochs=10)[0].shape[-2:] == (32, 32)
    assert transfer(dm, batch, training=True, epoch=5, max_epochs=10)[0].shape[-2:] == (48, 48)
    assert transfer(dm, batch, training=False, epoch=0, max_epochs=10)[0].shape[-2:] == (48, 48)


@pytest.mark.parametrize("shift", ["none", "rotate", "zoom", "blur", "wild"])
def test_eval_shifts_change_evaluation_batches_only(tiny_folder, shift):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        data = compose("eval", overrides=["ckpt_path=unused", f"shift={shift}", f"data.source={tiny_folder}",
                                          "data.batch_size=16"]).data
    dm = instantiate(data)
    dm.setup()
    batch = next(iter(dm.val_dataloader()))
    plain = batch[0].float() / 255
    shifted = transfer(dm, batch, training=False)[0]
    assert shifted.shape == plain.shape and 0 <= shifted.min() <= shifted.max() <= 1
    assert torch.equal(shifted, plain) == (shift == "none")
    train_batch = next(iter(dm.train_dataloader()))
    assert torch.equal(transfer(dm, train_batch, training=True)[0], train_batch[0].float() / 255)


@pytest.mark.parametrize("mix", ["mixup", "cutmix", "mixup_cutmix"])
def test_mix_presets_blend_train_batches_into_soft_labels(tiny_folder, mix):
    overrides = [f"mix={mix}", "augment=none", f"data.source={tiny_folder}", "data.batch_size=16"]
    if mix == "mixup_cutmix":
        overrides.append("data.mix.p=1.0")
    dm = instantiate(compose_data(*overrides))
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    images, labels = transfer(dm, batch, training=True)
    hard = torch.nn.functional.one_hot(batch[1], 7).float()
    assert labels.shape == (16, 7) and torch.allclose(labels.sum(1), torch.ones(16))
    assert not torch.equal(labels, hard) and not torch.equal(images, batch[0].float() / 255)
    # every soft label mixes the image's own class with one other image's, and nothing else
    assert torch.all((labels > 0).sum(1) <= 2) and torch.all(labels[hard.bool()] > 0)
    assert torch.equal(transfer(dm, batch, training=False)[1], batch[1])
    # per-face soft targets (distillation's cached teacher answers) travel with their faces and are mixed
    # with the same weights and partners: one that names the next class mixes into the next class's label
    dm.soft_targets = torch.nn.functional.one_hot((dm.split_tensors("train").labels + 1) % 7, 7).float()
    images, labels, soft = transfer(dm, next(iter(dm.train_dataloader())), training=True)
    assert not torch.equal(labels, labels.round()) and torch.allclose(soft, labels.roll(1, dims=1))


@pytest.mark.parametrize("strategy, per_class", [("none", None), ("weighted_sampler", None), ("oversample", 40)])
def test_data_parallel_shards_train_batches_without_overlap_and_with_equal_steps(strategy, per_class):
    labels = np.repeat([0, 1, 2], [70, 20, 9])
    make = partial(BalancedBatchSampler, labels, 8, strategy=strategy, per_class=per_class, seed=3)
    whole, shards = make(), [make(num_replicas=2, rank=r) for r in (0, 1)]
    for sampler in (whole, *shards):
        sampler.set_epoch(2)
    batches = list(whole)
    first, second = (list(s) for s in shards)
    assert len(first) == len(second) == len(shards[0]) == len(batches) // 2
    # the two processes together take the single-process batches, alternately
    assert all(torch.equal(a, batches[2 * i]) and torch.equal(b, batches[2 * i + 1])
               for i, (a, b) in enumerate(zip(first, second, strict=True)))


def test_evaluation_rows_are_dealt_to_processes_once_each():
    shards = [shard_batches(11, 4, num_replicas=3, rank=r) for r in range(3)]
    rows = torch.cat([torch.cat(s) for s in shards])
    assert sorted(rows.tolist()) == list(range(11)) and all(shards)
    assert [len(torch.cat(s)) for s in shards] == [4, 4, 3]


@pytest.mark.parametrize("mix", ["none", "mixup", "cutmix", "mixup_cutmix"])
def test_every_mix_choice_overrides_the_best_recipe_cleanly(tiny_folder, mix):
    dm = instantiate(compose_data("experiment=best", f"mix={mix}", f"data.source={tiny_folder}"))
    assert (dm.mix is None) == (mix == "none") and (dm.mix is None or callable(dm.mix))
