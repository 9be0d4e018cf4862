"""The one home of model files: export (weights + preprocessing + class names in one small file, loadable with
``weights_only=True``), loading (exported files, Lightning checkpoints, bundled models by name), and the
inference set-up every consumer shares (``deploy``: BatchNorm folded, bf16 where native)."""

from __future__ import annotations

import json
import pickle
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from fer.config import best_precision
from fer.errors import ConfigError, InputFileError
from fer.files import written_whole
from fer.module import FERModule

EXPORT_FORMAT = "fer-model/1"
ASSETS = Path(__file__).resolve().parent.parent / "assets"
# the models that ship inside the package (README, "Bundled models"): the most accurate one, which
# predict.py uses, and a quarter-size one fast enough for live video, which webcam.py uses
BUNDLED_MODELS = {"accurate": ASSETS / "model.pt", "fast": ASSETS / "model_fast.pt"}
PRECISIONS = ("auto", "bf16", "fp32")  # of deploy(): auto = bf16 where the CPU runs it natively


EXPORT_FORMATS = ("pt", "onnx")  # fer's own file (PyTorch, fp16 weights) or ONNX (fp32, for ONNX Runtime)


def export_checkpoint(checkpoint: str | Path, output: str | Path, metadata: dict | None = None) -> Path:
    """Lightning checkpoint (or an exported model) -> exported model (fp16 weights: half the size, same predictions
    to ~1e-3)."""
    return write_model_file(load_model(checkpoint), Path(output), metadata or {})


def write_model_file(module: FERModule, output: Path, metadata: dict) -> Path:
    state = {k: v.half() if v.is_floating_point() else v for k, v in module.net.state_dict().items()}
    with written_whole(output) as staged:  # replacing a model file never loses it to a failed write
        torch.save({"format": EXPORT_FORMAT, "model": module.model_spec, "preprocessing": module.preprocessing,
                    "state_dict": state, "metadata": metadata}, staged)
    return output


def export_model(model: str | Path, output: str | Path, format: str = "pt", command: str | None = None,
                 overwrite: bool = False) -> tuple[Path, dict]:
    """A run's checkpoint, an exported model.pt or a bundled model's name -> a model.pt or an .onnx file.

    The metadata (what the model scored, how it was made) is the model file's own, else the run's
    metrics.json beside checkpoints/, plus ``command``. An existing ``output`` is kept unless
    ``overwrite``; the source is read and checked before anything is written.
    """
    if format not in EXPORT_FORMATS:
        raise ConfigError(f"format={format!r}: expected one of {EXPORT_FORMATS}")
    source, output = model_path(model), Path(output)
    if output.exists() and not overwrite:
        raise InputFileError(f"{output}: exists; choose another output, or pass overwrite=true to replace it")
    if output.resolve() == source.resolve():
        raise InputFileError(f"{output}: is the model being exported; choose another output")
    module = load_model(source)
    metrics_file = source.parent.parent / "metrics.json"
    metadata = dict(module.metadata) or (json.loads(metrics_file.read_text()) if metrics_file.is_file() else {})
    metadata.pop("best_checkpoint", None)
    if command:
        metadata["command"] = command
    if format == "onnx":
        from fer.inference.onnx import write_onnx

        return write_onnx(module, output, metadata), metadata
    return write_model_file(module, output, metadata), metadata


def read_model_file(path: str | Path) -> dict:
    """The dict inside an exported model or a Lightning checkpoint, read with ``weights_only=True`` (no pickled
    code runs); anything else is an InputFileError that names the file and what was expected."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such model file (an exported .pt or a Lightning .ckpt)")
    if path.suffix.lower() == ".onnx":
        raise InputFileError(f"{path}: an ONNX model; run it with backend=onnxruntime (pip install 'fer[onnx]')")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols: the error below says what matters
            warnings.simplefilter("ignore")
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # bytes that are not a model fail inside the unpickler in many ways (text: KeyError)
        if isinstance(err, pickle.UnpicklingError) and _is_pickle(path):
            detail = next((line.strip() for line in str(err).splitlines() if "Unsupported" in line), "")
            raise InputFileError(f"{path}: refused for safety: a pickle holding more than tensors and plain data, "
                                 f"which could run code; only weights-only files are loaded ({detail})") from None
        told = isinstance(err, (RuntimeError, EOFError, OSError, ValueError)) and str(err)  # torch's own words
        said = f"; torch.load says: {str(err).splitlines()[0][:120]}" if told else ""
        raise InputFileError(
            f"{path}: not a model file (expected an exported .pt or a Lightning .ckpt{said})") from None
    is_export = isinstance(blob, dict) and blob.get("format") == EXPORT_FORMAT
    is_checkpoint = isinstance(blob, dict) and "state_dict" in blob and "hyper_parameters" in blob
    if not (is_export or is_checkpoint):
        raise InputFileError(f"{path}: neither an exported fer model ({EXPORT_FORMAT}) nor a Lightning checkpoint")
    return blob


def _is_pickle(path: Path) -> bool:
    """torch.save's zip container, or a bare pickle (protocol 2+ starts with the PROTO opcode)."""
    with path.open("rb") as handle:
        first = handle.read(1)
    return first == b"\x80" or zipfile.is_zipfile(path)


def load_model(path: str | Path) -> FERModule:
    """An exported model or a Lightning checkpoint, ready for inference (eval mode, on the CPU)."""
    blob = read_model_file(path)
    if blob.get("format") == EXPORT_FORMAT:
        pre = dict(blob["preprocessing"])
        mean, std = pre.pop("mean"), pre.pop("std")
        module = FERModule(model=blob["model"], preprocessing=pre, optimizer={}, mean=mean, std=std,
                           channels_last=True)
        module.net.load_state_dict({k: v.float() if v.is_floating_point() else v
                                    for k, v in blob["state_dict"].items()})
        module.metadata = blob.get("metadata", {})
    else:
        module = FERModule.load_from_checkpoint(path, map_location="cpu", weights_only=True)
        module.metadata = {}
    return module.eval()


def initialize_from(module: FERModule, model: str | Path) -> None:
    """Fine-tuning: ``module``'s network starts from the weights of an exported model, a checkpoint or a
    bundled model (``init=accurate``). Only the same network on the same channels, classes and normalisation
    fits: the same weights of the same shapes, however its config spelled it (a registered variant or its
    ``stages`` written out; a dropout rate holds no weight). The image size may differ where no weight
    depends on it (a pooled head): fine-tuning at a new resolution (Touvron et al. 2019, "FixRes")."""
    source = load_model(model_path(model))
    require_same_preprocessing(f"init={model}", source.preprocessing, module.preprocessing,
                               ("channels", "classes", "mean", "std"))
    theirs, ours = source.net.state_dict(), module.net.state_dict()
    differing = sorted(set(theirs) ^ set(ours)) or [k for k in ours if theirs[k].shape != ours[k].shape]
    if differing:
        sizes = source.preprocessing["image_size"], module.preprocessing["image_size"]
        if set(theirs) == set(ours) and sizes[0] != sizes[1]:  # a weight shaped by the image size (head=flatten)
            raise ConfigError(f"init={model}: its network was trained on {sizes[0]}-pixel faces and has weights "
                              f"that fit only that size ({differing[0]}); this run trains on {sizes[1]}")
        raise ConfigError(f"init={model}: holds the network {source.model_spec}, but this run builds "
                          f"{module.model_spec} (weight {differing[0]} differs); choose the model= it was "
                          "trained with")
    module.net.load_state_dict(theirs)


def require_same_preprocessing(label: str, theirs: dict, ours: dict, keys: Sequence[str]) -> None:
    """Trained weights assume their training data's ``keys`` (size, channels, class order, normalisation):
    a model reused by another run (``init=``, a distillation teacher) must agree with it on them."""
    def pick(preprocessing: dict) -> dict:
        return {k: list(preprocessing[k]) if k == "classes" else preprocessing[k] for k in keys}

    if pick(theirs) != pick(ours):
        raise ConfigError(f"{label}: trained on {pick(theirs)}, but this run trains on {pick(ours)}")


def model_path(model: str | Path | None) -> Path:
    """A bundled model's name (``accurate``, ``fast``) or a file; None means ``accurate``."""
    path = BUNDLED_MODELS.get(str(model or "accurate"), Path(str(model)))
    if not path.is_file():
        raise InputFileError(f"{model}: neither a bundled model ({', '.join(BUNDLED_MODELS)}) nor a model file "
                             "(an exported model.pt or a Lightning .ckpt)")
    return path


def deploy(module: torch.nn.Module, precision: str = "auto") -> bool:
    """Make a loaded model fast for inference, in place; returns whether it now runs in bf16.

    BatchNorm is folded into the convolutions; on CPUs with native bf16 (``precision='auto'``, as
    training chooses) the weights are stored in bf16 and channels-last once, so no call casts them.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision={precision!r}: expected auto, bf16 or fp32")
    bf16 = precision == "bf16" or (precision == "auto" and best_precision("cpu") == "bf16-mixed")
    net = fold_batchnorm(module.net)
    net.to(dtype=torch.bfloat16 if bf16 else torch.float32, memory_format=torch.channels_last)
    return bf16


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
