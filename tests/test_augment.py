"""Batch augmentation draws its parameters per image."""

import pytest
import torch

from fer.data.augment import RandomAffine, RandomBrightness, RandomCrop, RandomErasing, RandomHorizontalFlip


def _batch_of_one_face(n=64):
    torch.manual_seed(0)
    face = torch.rand(1, 1, 48, 48)
    return face.expand(n, -1, -1, -1).contiguous()


@pytest.mark.parametrize("augment", [RandomAffine(degrees=15, shear=0.1, scale=(0.9, 1.1)), RandomCrop(4),
                                     RandomBrightness(0.3), RandomErasing(p=1.0), RandomHorizontalFlip()])
def test_each_image_gets_its_own_random_transform(augment):
    batch = _batch_of_one_face()
    out = augment(batch)
    assert out.shape == batch.shape and out.dtype == batch.dtype
    assert 0 <= out.min() and out.max() <= 1
    distinct = {tuple(img.flatten()[::97].tolist()) for img in out}
    assert len(distinct) > 1 + (augment.__class__ is not RandomHorizontalFlip) * 30


def test_flip_with_certainty_mirrors_and_identity_affine_keeps_pixels():
    batch = _batch_of_one_face(4)
    assert torch.equal(RandomHorizontalFlip(p=1.0)(batch), batch.flip(-1))
    assert torch.allclose(RandomAffine()(batch), batch, atol=1e-5)
    assert torch.equal(RandomCrop(padding=0)(batch), batch)


def test_crop_shifts_content_by_whole_pixels():
    batch = torch.zeros(200, 1, 8, 8)
    batch[:, :, 4, 4] = 1
    out = RandomCrop(padding=2)(batch)
    positions = {tuple(torch.nonzero(img[0]).flatten().tolist()) for img in out}
    assert positions <= {(r, c) for r in range(2, 7) for c in range(2, 7)} and len(positions) > 15
