"""The CNNs of the reports this project grew from, layer for layer (Keras defaults: 'valid' padding)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from fer.models.base import Dropout, FaceClassifier, conv_bn, feature_size, pool_relu
from fer.models.registry import register_model


@register_model("baseline_cnn")
class BaselineCNN(FaceClassifier):
    """seed000: Conv32-Conv64-Pool-Drop.25-Conv128-Pool-Conv128-Pool-Drop.25-Dense1024-Drop.5-Dense."""

    fixed_input_size = True

    def __init__(self, in_channels: int = 1, num_classes: int = 7, image_size: int = 48, dropout: float = 0.5,
                 conv_dropout: float = 0.25) -> None:
        super().__init__()
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
        conv = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3), relu(), nn.Conv2d(32, 64, 3), *pool_relu(), Dropout(conv_dropout),
            nn.Conv2d(64, 128, 3), *pool_relu(), nn.Conv2d(128, 128, 3), *pool_relu(), Dropout(conv_dropout),
            nn.Flatten(),
        )
        width = feature_size(conv, in_channels, image_size)
        self.features = nn.Sequential(conv, nn.Linear(width, 1024), relu())
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(1024, num_classes))


@register_model("bn_cnn")
class BatchNormCNN(FaceClassifier):
    """seed004's BatchNorm CNN with seed001's L2 on the conv kernels.

    Blocks: 2x Conv(32, 64) BN, Pool, Drop; 2x Conv128 BN, Pool, Drop; 2x Conv256 BN, Pool, Drop;
    Dense256 BN Drop .5. 'same' padding (the report keeps 48 -> 6 after three pools).
    ``conv_l2`` adds l2 * sum(w^2) of the conv kernels to the loss, as Keras' kernel_regularizer.
    """

    fixed_input_size = True

    def __init__(self, in_channels: int = 1, num_classes: int = 7, image_size: int = 48, dropout: float = 0.5,
                 conv_dropout: float = 0.25, conv_l2: float = 1e-4) -> None:
        super().__init__()
        self.conv_l2 = conv_l2
        widths = [(in_channels, 32, 64), (64, 128, 128), (128, 256, 256)]
        blocks = []
        for cin, mid, out in widths:
            blocks += [*conv_bn(cin, mid), *conv_bn(mid, out, pool=True), Dropout(conv_dropout)]
        conv = nn.Sequential(*blocks, nn.Flatten())
        width = feature_size(conv, in_channels, image_size)
        self.features = nn.Sequential(conv, nn.Linear(width, 256, bias=False), nn.BatchNorm1d(256),
                                      nn.ReLU(inplace=True))
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(256, num_classes))

    def regularization_loss(self) -> Tensor | float:
        if not self.conv_l2:
            return 0.0
        kernels = [m.weight for m in self.modules() if isinstance(m, nn.Conv2d)]
        return self.conv_l2 * sum(torch.sum(w.float() ** 2) for w in kernels)


@register_model("deep_cnn")
class DeepCNN(FaceClassifier):
    """seed003: Conv128-256-512-512 (each MaxPool + Drop .4), Dense512-Drop.4-Dense256-Drop.3-Dense."""

    fixed_input_size = True

    def __init__(self, in_channels: int = 1, num_classes: int = 7, image_size: int = 48, dropout: float = 0.3,
                 conv_dropout: float = 0.4) -> None:
        super().__init__()
        layers, cin = [], in_channels
        for out in (128, 256, 512, 512):
            layers += [nn.Conv2d(cin, out, 3), *pool_relu(), Dropout(conv_dropout)]
            cin = out
        conv = nn.Sequential(*layers, nn.Flatten())
        width = feature_size(conv, in_channels, image_size)
        self.features = nn.Sequential(conv, nn.Linear(width, 512), nn.ReLU(inplace=True), Dropout(conv_dropout),
                                      nn.Linear(512, 256), nn.ReLU(inplace=True))
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(256, num_classes))


@register_model("bn_cnn4")
class FourConvBatchNormCNN(FaceClassifier):
    """seed002's "4-conv CNN + BN + Dropout": Conv32/64/128/256, each BN, Pool, Drop; Dense256 BN Drop.

    The report names only the block count; widths double per block as in its sibling reports.
    """

    fixed_input_size = True

    def __init__(self, in_channels: int = 1, num_classes: int = 7, image_size: int = 48, dropout: float = 0.5,
                 conv_dropout: float = 0.25) -> None:
        super().__init__()
        blocks, cin = [], in_channels
        for out in (32, 64, 128, 256):
            blocks += [*conv_bn(cin, out, pool=True), Dropout(conv_dropout)]
            cin = out
        conv = nn.Sequential(*blocks, nn.Flatten())
        width = feature_size(conv, in_channels, image_size)
        self.features = nn.Sequential(conv, nn.Linear(width, 256, bias=False), nn.BatchNorm1d(256),
                                      nn.ReLU(inplace=True))
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(256, num_classes))
