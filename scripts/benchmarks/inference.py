"""Classification latency on one thread (the apps' default): every registered network as the Recognizer
deploys it, and the bundled models through the Recognizer on each backend it offers."""

from __future__ import annotations

import importlib.util

import numpy as np
import torch

from benchmarks.machine import median_seconds
from fer.inference import Recognizer, deploy
from fer.inference.detectors import WholeImage
from fer.labels import FER2013_CLASSES
from fer.module import FERModule


def network(name: str) -> FERModule:
    """A registered network with fresh weights, wrapped as training wraps it (latency ignores the values)."""
    pre = {"image_size": 48, "channels": 1, "classes": list(FER2013_CLASSES)}
    return FERModule(model={"name": name}, preprocessing=pre, optimizer={}, mean=0.5, std=0.25,
                     channels_last=True).eval()


def classification_latency(models: list[str], min_run_time: float) -> dict:
    """Milliseconds to classify 1 and 32 faces: plain fp32, and deployed (BatchNorm folded, bf16 where native)."""
    result = {}
    for name in models:
        module, row, bf16 = network(name), {}, False
        for mode in ("fp32", "deployed"):
            if mode == "deployed":
                bf16 = deploy(module)
            for batch in (1, 32):
                x = torch.rand(batch, 1, 48, 48)
                with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                    row[f"{mode}_batch{batch}_ms"] = 1000 * median_seconds("module(x)", min_run_time, threads=1,
                                                                           module=module, x=x)
            row[f"{mode}_per_face_ms_at_32"] = row[f"{mode}_batch32_ms"] / 32
        result[name] = row
    return result


def backends() -> dict[str, dict]:
    """Recognizer settings worth comparing here: PyTorch fp32 and its fastest (bf16 where native), ONNX Runtime."""
    options = {"torch fp32": {"precision": "fp32"}, "torch deployed (auto)": {"precision": "auto"}}
    if importlib.util.find_spec("onnxruntime"):
        options["onnxruntime fp32"] = {"backend": "onnxruntime"}
    return options


def backend_latency(models: tuple[str, ...], min_run_time: float) -> dict:
    """Milliseconds per call of Recognizer.classify on 1 and 32 face crops, per bundled model and backend
    (one thread; ONNX Runtime with all its graph optimisations)."""
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (96, 96, 3), dtype=np.uint8) for _ in range(32)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the apps run (threads=1); ONNX Runtime takes the same count
    result = {}
    try:
        for model in models:
            for backend, options in backends().items():
                recognizer = Recognizer(model=model, detector=WholeImage(), **options)
                result[f"{model} / {backend}"] = {
                    f"{n}_faces_ms": 1000 * median_seconds("classify(faces)", min_run_time, threads=1,
                                                           classify=recognizer.classify, faces=crops[:n])
                    for n in (1, 32)}
    finally:
        torch.set_num_threads(threads)
    return result
