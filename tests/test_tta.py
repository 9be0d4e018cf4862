"""Test-time augmentation: the views it averages and how eval uses it."""

from __future__ import annotations

import pytest
import torch

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
