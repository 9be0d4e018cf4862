"""One small file per trained model: weights + preprocessing + class names, loadable with weights_only=True."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from fer.errors import InputFileError
from fer.module import FERModule

EXPORT_FORMAT = "fer-model/1"


def export_checkpoint(checkpoint: str | Path, output: str | Path, metadata: dict | None = None) -> Path:
    """Lightning checkpoint -> exported model (fp16 weights: half the size, same predictions to ~1e-3)."""
    module = FERModule.load_from_checkpoint(checkpoint, map_location="cpu", weights_only=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in module.net.state_dict().items()}
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": EXPORT_FORMAT, "model": module.hparams.model, "preprocessing": module.preprocessing,
                "state_dict": state, "metadata": metadata or {}}, output)
    return output


def load_model(path: str | Path) -> FERModule:
    """An exported model or a Lightning checkpoint, ready for inference (eval mode, on the CPU).

    Both are read with ``torch.load(weights_only=True)``: no pickled code runs.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such model file (an exported .pt or a Lightning .ckpt)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise InputFileError(f"{path}: refused for safety: it holds objects other than tensors and plain data, "
                             f"which a weights-only load never runs ({str(err).splitlines()[0][:120]})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise InputFileError(f"{path}: not a model file (expected an exported .pt or a Lightning .ckpt; "
                             f"torch.load says: {str(err).splitlines()[0][:120]})") from None
    if not isinstance(blob, dict):
        blob = {}
    if blob.get("format") == EXPORT_FORMAT:
        pre = dict(blob["preprocessing"])
        mean, std = pre.pop("mean"), pre.pop("std")
        module = FERModule(model=blob["model"], preprocessing=pre, optimizer={}, mean=mean, std=std)
        module.net.load_state_dict({k: v.float() if v.is_floating_point() else v
                                    for k, v in blob["state_dict"].items()})
        module.metadata = blob.get("metadata", {})
    elif "state_dict" in blob and "hyper_parameters" in blob:
        module = FERModule.load_from_checkpoint(path, map_location="cpu", weights_only=True)
        module.metadata = {}
    else:
        raise InputFileError(f"{path}: neither an exported fer model ({EXPORT_FORMAT}) nor a Lightning checkpoint")
    return module.eval()
