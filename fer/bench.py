"""Speed measurements, side by side in one process: ratios are what transfer between machines."""

from __future__ import annotations

import gc
import platform
import resource
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

from fer.config import CONFIG_DIR, best_precision
from fer.errors import ConfigError
from fer.data.datamodule import FERDataModule
from fer.data.readers import read_folder
from fer.models import create_model, list_models

AUGMENT_PRESETS = ("none", "shift_flip", "crop_flip", "rotate_shear_zoom_flip", "rotate_zoom_flip_brightness",
                   "crop_flip_rotate_erase")
FER2013_TRAIN_IMAGES = 28_709


def timed(fn: Callable[[], object], repeats: int, warmup: int = 2) -> list[float]:
    """Wall seconds of each of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def machine() -> dict:
    return {"cpu": _cpu_name(), "cores": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "avx512_bf16": torch.cpu._is_avx512_bf16_supported(),
            "amx": torch.cpu._is_amx_tile_supported()}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def matmul_ceiling(size: int = 2048, repeats: int = 5) -> dict:
    """GFLOP/s of a large square matmul in fp32 and bf16: the most this CPU can do."""
    result = {}
    for dtype in (torch.float32, torch.bfloat16):
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        best = min(timed(lambda: a @ b, repeats))
        result[str(dtype).removeprefix("torch.")] = 2 * size**3 / best / 1e9
    return result


def cache_build(source: Path) -> dict:
    """Seconds to decode the whole source into a fresh cache (the first run of a new user)."""
    with tempfile.TemporaryDirectory() as cache:
        dm = FERDataModule(source, read_folder, cache_dir=cache)
        start = time.perf_counter()
        dm.prepare_data()
        cold = time.perf_counter() - start
        start = time.perf_counter()
        dm.setup()
        warm = time.perf_counter() - start
    return {"cold_seconds": cold, "warm_load_seconds": warm, "images": len(dm.arrays)}


def composed(config: str, overrides: list[str] | None = None):
    """A config of this project as its script would compose it (inside scripts/bench.py's own Hydra run, too)."""
    if GlobalHydra.instance().is_initialized():
        return compose(config, overrides=overrides or [])
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return compose(config, overrides=overrides or [])


def loader_throughput(source: Path, batches: int, batch_size: int = 128) -> dict:
    """Augmented training images per second served by the DataModule, per augmentation preset."""
    result = {}
    for preset in AUGMENT_PRESETS:
        cfg = composed("train", ["paths.output_dir=unused", f"augment={preset}", f"data.source={source}",
                                 f"data.batch_size={batch_size}"])
        dm = instantiate(cfg.data)
        dm.setup()
        dm.trainer = SimpleNamespace(training=True, global_step=0, global_rank=0, world_size=1)  # a training loop
        loader = dm.train_dataloader()

        def epoch_slice():
            for i, batch in enumerate(loader):
                dm.on_after_batch_transfer(batch, 0)
                if i + 1 == batches:
                    break

        seconds = min(timed(epoch_slice, 3, warmup=1))
        result[preset] = batches * batch_size / seconds
    return result


def training_step_factory(name: str, batch_size: int, bf16: bool, channels_last: bool) -> Callable[[], None]:
    model = create_model(name)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.rand(batch_size, 1, 48, 48)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 7, (batch_size,))
    if hasattr(model, "fit_to_data"):
        model.fit_to_data(torch.rand(512, 1, 48, 48))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y) + model.regularization_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def forward_flops(name: str) -> int:
    from lightning.fabric.utilities.throughput import measure_flops

    model = create_model(name).eval()
    with torch.no_grad():
        return measure_flops(model, lambda: model(torch.zeros(1, 1, 48, 48)))


def reset_peak_rss() -> None:
    """Linux: restart the process's peak-RSS counter (VmHWM), so each model's peak is its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """Peak resident memory since the last reset (Linux VmHWM), else since the process started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def native_precisions() -> tuple[bool, ...]:
    """(False,) = fp32 only, or (False, True) where the CPU runs bf16 natively: emulated bf16 is no option."""
    return (False, True) if best_precision("cpu") == "bf16-mixed" else (False,)


def training_throughput(models: list[str], batch_sizes: list[int], steps: int, ceiling: dict) -> dict:
    """Images/s of forward + backward + AdamW step, per model, batch size, precision and memory format."""
    result = {}
    for name in models:
        flops = forward_flops(name)
        for batch_size in batch_sizes:
            rows = {}
            gc.collect()
            reset_peak_rss()
            for bf16 in native_precisions():
                for channels_last in (False, True):
                    step = training_step_factory(name, batch_size, bf16, channels_last)
                    seconds = statistics.median(timed(step, steps))
                    key = f"{'bf16' if bf16 else 'fp32'}{'+channels_last' if channels_last else ''}"
                    images_per_s = batch_size / seconds
                    train_flops = 3 * flops * images_per_s  # backward costs about twice the forward
                    rows[key] = {"images_per_s": images_per_s,
                                 "ceiling_fraction": train_flops / (ceiling["bfloat16" if bf16 else "float32"] * 1e9),
                                 "epoch_seconds": FER2013_TRAIN_IMAGES / images_per_s}
            base = rows["fp32"]["images_per_s"]
            for row in rows.values():
                row["speedup_vs_fp32"] = row["images_per_s"] / base
            result[f"{name}@{batch_size}"] = {"model": name, "batch_size": batch_size, "mflops_per_image": flops / 1e6,
                                              "peak_rss_mb": peak_rss_mb(), **rows}
    return result


def inference_module(name: str):
    from fer.labels import FER2013_CLASSES
    from fer.module import FERModule

    pre = {"image_size": 48, "channels": 1, "classes": list(FER2013_CLASSES)}
    return FERModule(model={"name": name}, preprocessing=pre,
                     optimizer={}).eval()


def classification_latency(models: list[str], repeats: int) -> dict:
    """Milliseconds to classify 1 and 32 face crops on one thread (the webcam default): plain fp32,
    and as the Recognizer runs a model (``deploy``: BatchNorm folded, bf16 where the CPU has it natively)."""
    from fer.inference.model import deploy

    result = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in models:
            module = inference_module(name)
            row, bf16 = {}, False
            for mode in ("fp32", "deployed"):
                if mode == "deployed":
                    bf16 = deploy(module)
                for batch in (1, 32):
                    x = torch.rand(batch, 1, 48, 48)
                    with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                        row[f"{mode}_batch{batch}_ms"] = 1000 * statistics.median(timed(lambda: module(x), repeats))
                row[f"{mode}_per_face_ms_at_32"] = row[f"{mode}_batch32_ms"] / 32
            result[name] = row
    finally:
        torch.set_num_threads(threads)
    return result


TEST_FACE = Path(__file__).resolve().parent / "assets" / "test_face.jpg"  # NASA, public domain (see README)


def face_scene(source: Path | None, width: int, height: int) -> np.ndarray:
    """A frame with one real face on a smooth background: a FER-2013 face when the zip is given, else the
    bundled test face, so the pipeline is always timed with a face to classify."""
    rng = np.random.default_rng(0)
    frame = cv2.resize(rng.integers(60, 200, (6, 8, 3), dtype=np.uint8), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    if source is not None and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            name = next(n for n in sorted(archive.namelist()) if "/happy/PrivateTest_" in n)
            face = cv2.imdecode(np.frombuffer(archive.read(name), np.uint8), cv2.IMREAD_COLOR)
        side = height * 5 // 12  # the crop is all face
    else:
        face = cv2.imread(str(TEST_FACE), cv2.IMREAD_COLOR)
        side = height * 4 // 5  # a portrait: the face is about 150 px tall at 640x480, as at a webcam
    top, left = (height - side) // 2, width // 3
    frame[top: top + side, left: left + side] = \
        cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    return frame


def pipeline_latency(source: Path | None, repeats: int) -> dict:
    """Haar detection (photo and live presets) at 640x480 and 1280x720, and the whole webcam frame
    (detect + classify + draw) at 640x480 with the webcam's own configuration."""
    from fer.inference.emoji import load_emoji
    from fer.inference.overlay import draw_faces
    from fer.inference.model import BUNDLED_MODELS
    from fer.inference.recognizer import Recognizer

    webcam = composed("webcam")
    detectors = {name: instantiate(composed("webcam", [f"detector={name}"]).detector) for name in ("haar", "haar_fast")}
    result = {}
    for width, height in ((640, 480), (1280, 720)):
        frame = face_scene(source, width, height)
        for name, detector in detectors.items():
            result[f"{name}_{width}x{height}_ms"] = 1000 * statistics.median(timed(lambda: detector(frame), repeats))
    frame = face_scene(source, 640, 480)
    torch.set_num_threads(webcam.threads or torch.get_num_threads())  # as webcam.py runs
    try:
        recognizer = Recognizer.from_config(webcam)
    except FileNotFoundError:  # a checkout without the bundled models (InputFileError is one)
        return result
    emoji = load_emoji(None, recognizer.classes)
    faces = recognizer(frame)
    crops = [recognizer.crop(frame, face.box) for face in faces]
    result["faces_in_frame"] = len(faces)
    for name in BUNDLED_MODELS:  # per face, as the webcam runs each bundled model (its threads and precision)
        classify = recognizer.classify if name == webcam.model_file else Recognizer(
            model=name, detector=recognizer.detector, precision=webcam.precision).classify
        result[f"classify_one_face_ms_{name}_model"] = 1000 * statistics.median(
            timed(lambda: classify(crops), repeats * 3))
    times = timed(lambda: draw_faces(frame.copy(), recognizer(frame), emoji), repeats * 3)
    result.update({"pipeline_640x480_median_ms": 1000 * statistics.median(times),
                   "pipeline_640x480_p95_ms": 1000 * float(np.percentile(times, 95)),
                   "pipeline_fps": 1 / statistics.median(times)})
    return result


SECTIONS = ("data", "training", "inference", "pipeline")


def run(source: Path | None, quick: bool, sections: tuple[str, ...] = SECTIONS) -> dict:
    """Measure the chosen ``sections`` (all by default); ``quick`` trades precision for seconds."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"sections={list(sections)}: unknown section(s) {sorted(unknown)}; expected some of "
                          f"{list(SECTIONS)}")
    report = {"machine": machine(), "quick": quick}
    report["matmul_gflops"] = ceiling = matmul_ceiling(1024 if quick else 2048)
    if source is not None and "data" in sections:
        report["cache_build"] = cache_build(source)
        report["loader_images_per_s"] = loader_throughput(source, batches=10 if quick else 60)
    models = ["baseline_cnn", "linear"] if quick else list_models()
    if "training" in sections:
        report["training"] = training_throughput(models, [64] if quick else [64, 128], steps=3 if quick else 10,
                                                 ceiling=ceiling)
    if "inference" in sections:
        report["inference_ms"] = classification_latency(models,
                                                        repeats=5 if quick else 30)
    if "pipeline" in sections:
        report["pipeline"] = pipeline_latency(source, repeats=5 if quick else 30)
    return report


def markdown(report: dict) -> str:
    lines = [f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} threads, torch "
             f"{report['machine']['torch']}, AVX-512 BF16 {report['machine']['avx512_bf16']}, "
             f"AMX {report['machine']['amx']}", "",
             "| matmul ceiling | GFLOP/s |", "|---|---|"]
    lines += [f"| {k} | {v:.0f} |" for k, v in report["matmul_gflops"].items()]
    if "cache_build" in report:
        c = report["cache_build"]
        lines += ["", f"Cache build from the source: {c['cold_seconds']:.1f} s for {c['images']} images "
                      f"(later runs load it in {c['warm_load_seconds']:.2f} s)", "",
                  "| augmentation preset | train loader images/s |", "|---|---|"]
        lines += [f"| {k} | {v:,.0f} |" for k, v in report["loader_images_per_s"].items()]
    if "training" in report:
        lines += _training_table(report["training"])
    if "inference_ms" in report:
        lines += _inference_table(report["inference_ms"])
    if "pipeline" in report:
        lines += ["", "| per-frame pipeline | ms |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in report["pipeline"].items()]
    return "\n".join(lines)


def _training_table(training: dict) -> list[str]:
    """fp32 columns always; bf16 columns only where the CPU has native bf16 (they were measured)."""
    bf16 = any("bf16" in row for row in training.values())
    head = "| model | batch | MFLOPs/img | fp32 img/s | fp32+CL | fp32+CL % of fp32 ceiling |"
    if bf16:
        head += " bf16 | bf16+CL (x fp32) | bf16+CL % of bf16 ceiling |"
    lines = ["", head + " s/epoch (fastest) | peak RSS MB |", "|---" * (head.count("|") + 1) + "|"]
    for row in training.values():
        fast = row["bf16+channels_last" if bf16 else "fp32+channels_last"]
        cells = [row["model"], row["batch_size"], f"{row['mflops_per_image']:.1f}", f"{row['fp32']['images_per_s']:.0f}",
                 f"{row['fp32+channels_last']['images_per_s']:.0f}",
                 f"{100 * row['fp32+channels_last']['ceiling_fraction']:.1f}"]
        if bf16:
            cells += [f"{row['bf16']['images_per_s']:.0f}", f"{fast['images_per_s']:.0f} ({fast['speedup_vs_fp32']:.1f}x)",
                      f"{100 * fast['ceiling_fraction']:.1f}"]
        cells += [f"{fast['epoch_seconds']:.0f}", f"{row['peak_rss_mb']:.0f}"]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return lines


def _inference_table(inference: dict) -> list[str]:
    lines = ["", "One thread. *deployed*: as the Recognizer runs it (BatchNorm folded, bf16 on native-bf16 CPUs).", "",
             "| model | 1 face fp32 (ms) | 1 face deployed | 32 faces fp32 | 32 faces deployed | "
             "per face at 32, deployed |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {row['fp32_batch1_ms']:.2f} | {row['deployed_batch1_ms']:.2f} | {row['fp32_batch32_ms']:.1f} | "
              f"{row['deployed_batch32_ms']:.1f} | {row['deployed_per_face_ms_at_32']:.2f} |"
              for name, row in inference.items()]
    return lines
