"""seed002's classical baselines as torch modules: logistic regression and PCA + MLP on raw pixels."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from fer.models.base import Dropout, FaceClassifier
from fer.models.registry import register_model


class PCA(nn.Module):
    """Projection onto the top principal components of the training images.

    Fitted once from data (``fit``), stored as buffers, so it is saved and restored with the weights.
    """

    def __init__(self, in_features: int, components: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("basis", torch.eye(in_features)[:, :components].clone())
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def fit(self, x: Tensor) -> None:
        x = x.flatten(1).float()
        mean = x.mean(0)
        _, _, v = torch.linalg.svd(x - mean, full_matrices=False)
        components = self.basis.shape[1]
        self.mean.copy_(mean)
        self.basis.copy_(v[:components].T)
        self.fitted.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        return (x.flatten(1) - self.mean.to(x.dtype)) @ self.basis.to(x.dtype)


@register_model("linear")
class Linear(FaceClassifier):
    """Multinomial logistic regression on the pixels."""

    fixed_input_size = True

    def __init__(self, in_channels: int = 1, num_classes: int = 7, image_size: int = 48, dropout: float = 0.0
                 ) -> None:
        super().__init__()
        self.features = nn.Flatten()
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(in_channels * image_size**2, num_classes))


@register_model("mlp")
class MLP(FaceClassifier):
    """Pixels -> optional PCA (fitted on the train split before training) -> MLP (seed002's best classical model)."""

    fixed_input_size = True

    def __init__(self, in_channels: int = 1, num_classes: int = 7, image_size: int = 48, dropout: float = 0.3,
                 pca_components: int | None = 256, hidden: Sequence[int] = (512, 256)) -> None:
        super().__init__()
        pixels = in_channels * image_size**2
        self.pca = PCA(pixels, pca_components) if pca_components else None
        layers, width = [self.pca or nn.Flatten()], pca_components or pixels
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(inplace=True), Dropout(dropout)]
            width = size
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def fit_to_data(self, x: Tensor) -> None:
        """Data-dependent initialisation: called once with normalised training images before training."""
        if self.pca is not None and not bool(self.pca.fitted):
            self.pca.fit(x)
