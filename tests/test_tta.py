"""Test-time augmentation: the views it averages and how eval uses it."""

from __future__ import annotations

import pytest
import torch

from conftest import privatetest_scores
from fer.inference import Recognizer
from fer.inference.detectors import WholeImage
from fer.tta import predict_log_probs, views


def test_views_are_the_image_its_mirror_and_ten_shifted_crops():
    images = torch.rand(3, 1, 48, 48)
    assert torch.equal(views(images, "none")[0], images)
    flip = views(images, "flip")
    assert len(flip) == 2 and torch.equal(flip[1], images.flip(-1))
    crops = views(images, "ten_crop", padding=4)
    assert len(crops) == 10 and all(c.shape == images.shape for c in crops)
    assert torch.equal(crops[4], images)  # the centre crop of the padded image is the image itself
    assert torch.equal(crops[0][..., 4:, 4:], images[..., :-4, :-4])  # top-left crop: shifted by the padding
    assert torch.equal(crops[9], crops[4].flip(-1))  # the last five are the mirrors of the first five


def test_predict_log_probs_averages_probabilities_and_passes_logits_through():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48 * 48, 7))
    images = torch.rand(4, 1, 48, 48)
    assert torch.equal(predict_log_probs(model, images, "none"), model(images))
    expected = (model(images).softmax(1) + model(images.flip(-1)).softmax(1)) / 2
    assert torch.allclose(predict_log_probs(model, images, "flip").exp(), expected, atol=1e-6)
    assert torch.allclose(predict_log_probs(model, images, "ten_crop").exp().sum(1), torch.ones(4), atol=1e-5)
    with pytest.raises(ValueError, match="unknown test-time augmentation 'five_crop'"):
        predict_log_probs(model, images, "five_crop")


def test_flip_zoom_rotate_views_are_small_turns_and_zooms_and_their_mirrors():
    yy, xx = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")
    disc = (((yy - 23.5) ** 2 + (xx - 23.5) ** 2) < 10 ** 2).float().expand(2, 1, 48, 48)
    bar = ((yy - 23.5).abs() < 3).float() * ((xx - 23.5).abs() < 18).float()
    bar = bar.expand(2, 1, 48, 48)
    views_ = views(disc, "flip_zoom_rotate")
    assert len(views_) == 10 and all(v.shape == disc.shape for v in views_)
    assert torch.equal(views_[0], disc)
    assert all(torch.equal(views_[i + 1], views_[i].flip(-1)) for i in range(0, 10, 2))
    area = [v.sum().item() for v in views_[::2]]  # the face, shrunk 5%, enlarged 5%, turned -6, turned +6
    assert area[1] == pytest.approx(area[0] * 0.95 ** 2, rel=0.05)
    assert area[2] == pytest.approx(area[0] * 1.05 ** 2, rel=0.05)
    assert area[3] == pytest.approx(area[0], rel=0.02) and area[4] == pytest.approx(area[0], rel=0.02)
    turned = views(bar, "flip_zoom_rotate")
    assert not torch.allclose(turned[6], bar, atol=0.1)  # a horizontal bar turned by 6 degrees ...
    assert torch.allclose(turned[6], turned[9], atol=1e-5)  # ... one way is the mirror of the other way


def test_flip_zoom_rotate_beats_flip_on_every_privatetest_face(privatetest_faces):
    """The views are turns and zooms the bundled models trained with: averaged over them, `fast` scores
    higher on FER-2013's PrivateTest than with the mirror alone (measured: docs/RESULTS.md)."""
    accuracy = {mode: privatetest_scores(Recognizer(model="fast", detector=WholeImage(), tta=mode),
                                         privatetest_faces)[0]
                for mode in ("none", "flip", "flip_zoom_rotate")}
    assert accuracy["flip_zoom_rotate"] > accuracy["flip"] > accuracy["none"]  # measured: 70.7 / 70.0 / 69.4%
