"""Residual nets with squeeze-excitation, sized for 48x48 faces: VGG's stages with shortcuts and channel gates."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from fer.models.base import FaceClassifier, conv_bn
from fer.models.registry import register_model


class SqueezeExcite(nn.Module):
    """Per-channel gates computed from the whole face (Hu et al. 2018): global context for a few FLOPs."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(channels // reduction, 8)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, channels, 1), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)


class ResidualBlock(nn.Module):
    """Two 3x3 conv-BN (the first with ReLU), an optional SE gate, added to the input, then ReLU.

    The last BatchNorm starts at zero, so each block starts as the identity and a deep stack trains like
    a shallow one at first (Goyal et al. 2017). Where the width changes the shortcut is a 1x1 conv-BN.
    Conv-BN pairs sit in ``nn.Sequential`` so export folds them (fer.inference.model.fold_batchnorm).
    """

    def __init__(self, in_channels: int, out_channels: int, se_reduction: int | None) -> None:
        super().__init__()
        self.body = nn.Sequential(*conv_bn(in_channels, out_channels),
                                  nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(out_channels))
        nn.init.zeros_(self.body[-1].weight)
        self.gate = SqueezeExcite(out_channels, se_reduction) if se_reduction else nn.Identity()
        self.shortcut = nn.Identity() if in_channels == out_channels else nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu_(self.gate(self.body(x)) + self.shortcut(x))


@register_model("resnet")
class ResNet(FaceClassifier):
    """VGG's first stage (two conv-BN-ReLU at full resolution and a 2x2 max-pool), then stages of residual
    blocks, a max-pool between stages (48 -> 24 -> 12 -> 6 for three stages), global pooling, a linear head.

    The full-resolution stage stays plain: at 48x48 a CPU's step is dominated by memory-bound work per
    activation (BatchNorm, ReLU, the gates' product, the shortcut's sum), so shortcuts and gates go where
    the maps are small. ``widths`` and ``blocks`` give each residual stage's width and number of blocks;
    ``se_reduction`` the SE bottleneck (``None``: no gates). The default (5.0M parameters, 1.03x the FLOPs
    of ``vgg``) is ``vgg`` with shortcuts and gates; ``resnet_small`` is its half-width variant.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 7, image_size: int = 48, dropout: float = 0.3,
                 stem_width: int = 64, widths: Sequence[int] = (128, 256, 512), blocks: Sequence[int] = (1, 1, 1),
                 se_reduction: int | None = 8) -> None:
        super().__init__()
        if len(widths) != len(blocks):
            raise ValueError(f"widths {list(widths)} and blocks {list(blocks)} must list the same stages")
        layers, cin = conv_bn(in_channels, stem_width) + conv_bn(stem_width, stem_width, pool=True), stem_width
        for stage, (width, count) in enumerate(zip(widths, blocks, strict=True)):
            layers += [nn.MaxPool2d(2)] if stage else []
            for _ in range(count):
                layers.append(ResidualBlock(cin, width, se_reduction))
                cin = width
        self.pool_and_classify(layers, cin, num_classes, dropout)


@register_model("resnet_small")
def resnet_small(**kwargs) -> ResNet:
    """Half-width ``resnet`` (1.2M parameters), to compare with ``vgg_small`` at about the same FLOPs."""
    return ResNet(stem_width=32, widths=(64, 128, 256), **kwargs)
