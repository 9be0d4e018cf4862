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


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every BatchNorm2d that directly follows a Conv2d into the conv (inference only, in place).

    An eval-mode BatchNorm is an affine map, so the pair computes the same as one conv with
    rescaled weights (torch.nn.utils.fusion.fuse_conv_bn_eval); one pass over the activations
    less per layer makes single-face classification faster.
    """
    for child in module.children():
        fold_batchnorm(child)
    if isinstance(module, nn.Sequential):
        layers = list(module)
        for i in range(len(layers) - 1):
            conv, norm = layers[i], layers[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and not module.training:
                module[i] = nn.utils.fusion.fuse_conv_bn_eval(conv, norm)
                module[i + 1] = nn.Identity()
    return module
