"""Model registry: ``create_model(name, in_channels=, num_classes=, image_size=, dropout=)``."""

from fer.models import classical, cnn, resnet, vgg  # noqa: F401  (registers the families)
from fer.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
