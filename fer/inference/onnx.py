"""Models that leave the framework: export to ONNX (preprocessing, class names and the run's metrics in the
file's metadata) and run an ONNX file with ONNX Runtime, as the Recognizer's ``backend='onnxruntime'``.

The graph takes float images in [0, 1] shaped [N, C, H, W] (any N) and returns logits; normalisation is
inside it, BatchNorm folded into the convolutions. A bundled model asked for by name is exported once,
on demand, into the cache (``$FER_CACHE_DIR`` or ``~/.cache/fer``), keyed by the model file's checksum.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import torch
from torch import Tensor

from fer.data.cache import default_cache_dir, source_checksum
from fer.errors import InputFileError, UserError
from fer.files import written_whole
from fer.inference.model import export_model, fold_batchnorm, model_path

log = logging.getLogger(__name__)
ONNX_FORMAT = "fer-onnx/1"
INPUT, OUTPUT = "images", "logits"


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise UserError(f"ONNX needs the optional {module} package: pip install 'fer[onnx]' "
                        "(onnx, onnxscript, onnxruntime)") from None


def write_onnx(module: torch.nn.Module, output: Path, metadata: dict) -> Path:
    """A loaded FERModule -> one self-contained .onnx file (written whole, then moved into place)."""
    onnx = _require("onnx")
    _require("onnxscript")  # torch.onnx's exporter
    fold_batchnorm(module.net)
    pre = module.preprocessing
    example = torch.rand(2, pre["channels"], pre["image_size"], pre["image_size"])
    with written_whole(output) as staged, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.float().eval(), (example,), staged, dynamo=True, external_data=False,
                          verbose=False, input_names=[INPUT], output_names=[OUTPUT],
                          dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
        graph = onnx.load(staged)
        onnx.helper.set_model_props(graph, {"fer.format": ONNX_FORMAT, "fer.preprocessing": json.dumps(pre),
                                            "fer.metadata": json.dumps(metadata, default=str)})
        onnx.save(graph, staged)
    return output


def onnx_file(model: str | Path | None) -> Path:
    """An .onnx file as given, or the cached ONNX copy of a bundled model / model.pt / checkpoint (made once)."""
    if model is not None and str(model).endswith(".onnx"):
        if not Path(model).is_file():
            raise InputFileError(f"{model}: no such ONNX file")
        return Path(model)
    source = model_path(model)
    cached = default_cache_dir() / "onnx" / f"{source.stem}-{source_checksum(source)[:16]}.onnx"
    if not cached.is_file():
        log.info("exporting %s to ONNX once (cached at %s)", source, cached)
        export_model(source, cached, format="onnx", overwrite=True)
    return cached


class OnnxModel:
    """An exported .onnx file run by ONNX Runtime (all graph optimisations on), called like a FERModule:
    float images [N, C, H, W] in [0, 1] -> logits. ``threads`` defaults to torch's thread count, which
    the apps set (``threads=1``)."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        ort, onnx = _require("onnxruntime"), _require("onnx")
        self.path = Path(path)
        try:
            props = {p.key: p.value for p in onnx.load(self.path, load_external_data=False).metadata_props}
        except Exception as err:  # onnx raises DecodeError, ValidationError, OSError ...
            raise InputFileError(f"{self.path}: not a readable ONNX file ({type(err).__name__})") from None
        if props.get("fer.format") != ONNX_FORMAT:
            raise InputFileError(f"{self.path}: an ONNX file without fer's metadata ({ONNX_FORMAT}); export one "
                                 "with python scripts/export.py ... format=onnx")
        self.preprocessing = json.loads(props["fer.preprocessing"])
        self.metadata = json.loads(props.get("fer.metadata", "{}"))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def __call__(self, images: Tensor) -> Tensor:
        (logits,) = self.session.run([OUTPUT], {INPUT: images.float().contiguous().numpy()})
        return torch.from_numpy(logits)
