"""What every model shares: a feature extractor, a classifier head, and the uniform constructor."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class FaceClassifier(nn.Module):
    """``features`` maps [B, C, H, W] to [B, D] (the embedding the projector shows); ``head`` to logits."""

    features: nn.Module
    head: nn.Module

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    def regularization_loss(self) -> Tensor | float:
        """Extra loss term (Keras-style kernel L2); 0 unless a model asks for it."""
        return 0.0


def feature_size(module: nn.Module, in_channels: int, image_size: int) -> int:
    """Width of ``module``'s flattened output for one image, so heads fit any input size."""
    with torch.no_grad():
        return module(torch.zeros(1, in_channels, image_size, image_size)).flatten(1).shape[1]


def conv_bn(in_ch: int, out_ch: int, kernel: int = 3, padding: int | str = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, kernel, padding=padding, bias=False), nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True)]
