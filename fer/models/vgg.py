"""VGG-style nets sized for 48x48 faces: the family that tops FER-2013 single-network results."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from fer.models.base import FaceClassifier, conv_bn
from fer.models.registry import register_model


@register_model("vgg")
class VGG(FaceClassifier):
    """Stages of 3x3 conv-BN-ReLU, each closed by a 2x2 max-pool, then global pooling and a linear head.

    ``stages`` lists the widths of each stage's convs; the default has 4.7M parameters. Registered
    variants: ``vgg_small`` (half width, a quarter of the FLOPs) and ``vgg_lite`` (``vgg_small`` with one
    conv at full resolution, where a CPU spends most of the time: 1.35x faster to train); docs/RESULTS.md
    has what each reached on FER-2013.

    ``stem='unshuffle'`` folds each 2x2 block of pixels into channels (space-to-depth: lossless, unlike a
    strided conv) so the first stage runs at half resolution without its pool. Full-resolution activations
    are where a CPU spends its time without doing arithmetic (BatchNorm, max-pool and their backward on
    [B, 64, 48, 48]): in train.py's loop on two threads of an EPYC Zen 4 (bf16, channels-last, batch 128)
    ``vgg`` trains 1.13x, ``vgg_small`` 1.21x and ``vgg_lite`` 1.10x faster with it. Not adopted by a
    recipe: ``vgg_small`` scored 0.4 points lower with it at 40 epochs (docs/RESULTS.md, levers).

    ``head='flatten'`` keeps where on the face each feature is: the last feature map (3x3 for 48x48 faces)
    is flattened into a hidden layer of ``head_width`` units (with BatchNorm), as the VGG of Khaireddin &
    Chen (2021) and the reports' CNNs do, instead of being averaged; such a net takes only its
    ``image_size``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 7, image_size: int = 48, dropout: float = 0.3,
                 stages: Sequence[Sequence[int]] = ((64, 64), (128, 128), (256, 256), (512, 512)),
                 head: str = "pool", head_width: int = 512, stem: str = "conv") -> None:
        super().__init__()
        if stem == "conv":
            layers, cin = [], in_channels
        elif stem == "unshuffle":
            if image_size % 2:
                raise ValueError(f"stem='unshuffle' folds 2x2 pixel blocks: image_size={image_size} must be even")
            layers, cin = [nn.PixelUnshuffle(2)], in_channels * 4
        else:
            raise ValueError(f"stem={stem!r}: expected 'conv' (the first stage at full resolution) or 'unshuffle'")
        for index, stage in enumerate(stages):
            for i, out in enumerate(stage, 1):
                # the stage's last conv closes with a pool, except where the stem has already halved the size
                pool = i == len(stage) and not (stem == "unshuffle" and index == 0)
                layers += conv_bn(cin, out, pool=pool)
                cin = out
        if head == "pool":
            self.pool_and_classify(layers, cin, num_classes, dropout)
        elif head == "flatten":
            self.flatten_and_classify(layers, in_channels, image_size, head_width, num_classes, dropout)
        else:
            raise ValueError(f"head={head!r}: expected 'pool' (global average pooling) or 'flatten'")


@register_model("vgg_small")
def vgg_small(**kwargs) -> VGG:
    """Half-width VGG (1.2M parameters): the ``fast`` bundled model, about 1 ms a face on one core."""
    return VGG(stages=((32, 32), (64, 64), (128, 128), (256, 256)), **kwargs)


@register_model("vgg_lite")
def vgg_lite(**kwargs) -> VGG:
    """``vgg_small`` with a single conv at 48x48: the model of ``experiment=quick`` (65% in under 8 minutes)."""
    return VGG(stages=((32,), (64, 64), (128, 128), (256, 256)), **kwargs)
