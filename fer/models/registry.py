"""Models by name. Every model takes (in_channels, num_classes, image_size, dropout, ...)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from fer.errors import ConfigError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable:
    def add(cls: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name] = cls
        return cls

    return add


def list_models() -> list[str]:
    return sorted(_MODELS)


def create_model(name: str, **kwargs) -> nn.Module:
    """``create_model('bn_cnn', in_channels=1, num_classes=7, image_size=48)``."""
    if name not in _MODELS:
        raise ConfigError(f"unknown model {name!r}; registered: {list_models()}")
    try:
        return _MODELS[name](**kwargs)
    except (TypeError, ValueError) as err:  # an option the model does not take, or a value it cannot build
        raise ConfigError(f"model {name!r}: {err}") from err
