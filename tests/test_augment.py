"""Batch augmentation draws its parameters per image."""

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from fer.data.augment import (
    ProgressiveResize,
    RandomAffine,
    RandomBrightness,
    RandomCrop,
    RandomErasing,
    RandomGaussianBlur,
    RandomHorizontalFlip,
)
from fer.errors import ConfigError


def _batch_of_one_face(n=64):
    torch.manual_seed(0)
    face = torch.rand(1, 1, 48, 48)
    return face.expand(n, -1, -1, -1).contiguous()


@pytest.mark.parametrize("augment", [RandomAffine(degrees=15, shear=0.1, scale=(0.9, 1.1)), RandomCrop(4),
                                     RandomBrightness(0.3), RandomErasing(p=1.0), RandomHorizontalFlip(),
                                     RandomGaussianBlur(p=1.0)])
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


def test_blur_matches_torchvision_per_sigma_and_keeps_unpicked_images():
    torch.manual_seed(1)
    batch = torch.rand(6, 3, 20, 20)
    fixed = RandomGaussianBlur(sigma=(1.2, 1.2), p=1.0)(batch)
    inner = (..., slice(4, -4), slice(4, -4))  # away from the border, where the padding modes differ
    expected = TF.gaussian_blur(batch, kernel_size=[9, 9], sigma=[1.2, 1.2])
    assert torch.allclose(fixed[inner], expected[inner], atol=1e-5)
    assert torch.equal(RandomGaussianBlur(p=0.0)(batch), batch)
    spike = torch.zeros(400, 1, 15, 15)
    spike[:, :, 7, 7] = 1
    out = RandomGaussianBlur(sigma=(0.3, 2.0), p=0.5)(spike)
    assert torch.allclose(out.sum((1, 2, 3)), torch.ones(400), atol=1e-5)  # blurring keeps the brightness
    blurred = (out[:, 0, 7, 7] < 1).float().mean()
    assert 0.4 < blurred < 0.6 and len(set(out[:, 0, 7, 7].tolist())) > 150  # p honoured, one sigma per image


@pytest.mark.parametrize("sigma", [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
def test_blur_rejects_an_empty_or_negative_sigma_range(sigma):
    with pytest.raises(ConfigError, match="sigma"):
        RandomGaussianBlur(sigma=sigma)


def test_progressive_resize_grows_to_full_size_by_the_ramp_and_keeps_it():
    two_phase = ProgressiveResize(start_size=32, ramp=0.5, multiple=16)
    assert [two_phase.size(epoch, 10, 48) for epoch in range(10)] == [32] * 5 + [48] * 5
    linear = ProgressiveResize(start_size=24, ramp=0.75, multiple=8)
    sides = [linear.size(epoch, 40, 48) for epoch in range(40)]
    assert sides[0] == 24 and sides == sorted(sides) and set(sides) == {24, 32, 40, 48} and sides[30:] == [48] * 10
    faces = torch.rand(5, 1, 48, 48)
    small = two_phase(faces, 0, 10)
    assert small.shape == (5, 1, 32, 32) and 0 <= small.min() and small.max() <= 1
    assert torch.allclose(small.mean((2, 3)), faces.mean((2, 3)), atol=0.02)  # antialiased: the same faces, smaller
    assert two_phase(faces, 5, 10) is faces
    assert ProgressiveResize(start_size=64, multiple=16).size(0, 10, 48) == 48  # never enlarges


@pytest.mark.parametrize("kwargs", [{"ramp": 0.0}, {"ramp": 1.5}, {"start_size": 8, "multiple": 16}, {"multiple": 0},
                                    {"start_size": 24, "multiple": 16}])
def test_progressive_resize_rejects_impossible_schedules(kwargs):
    with pytest.raises(ConfigError, match="data.resize"):
        ProgressiveResize(**kwargs)
    with pytest.raises(ConfigError, match="max_epochs"):
        ProgressiveResize().size(0, None, 48)
