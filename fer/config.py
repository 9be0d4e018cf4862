"""Hydra glue: the config directory, resolvers, and instantiating a whole config group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def best_precision(accelerator: str = "cpu") -> str:
    """bf16 mixed precision where the hardware runs it natively, else full fp32."""
    import torch

    if accelerator == "cpu":
        native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        return "bf16-mixed" if native else "32-true"
    if torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "32-true"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("best_precision"):
        OmegaConf.register_new_resolver("best_precision", best_precision)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a group such as ``callbacks`` or ``logger`` (null entries switch one off)."""
    return [instantiate(item) for item in (group or {}).values() if item and "_target_" in item]


def write_json(data: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


register_resolvers()
