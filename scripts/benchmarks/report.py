"""``run``: the chosen sections measured in one process (ratios are what transfer between machines);
``markdown``: the tables docs/BENCHMARKS.md shows."""

from __future__ import annotations

from pathlib import Path

from fer.errors import ConfigError
from fer.inference import BUNDLED_MODELS
from fer.models import list_models

SECTIONS = ("data", "training", "inference", "pipeline", "compare")
DEFAULT_SECTIONS = ("data", "training", "inference", "pipeline")  # compare needs TensorFlow (fer[compare])


def run(source: Path | None, quick: bool, sections: tuple[str, ...] = DEFAULT_SECTIONS,
        models: tuple[str, ...] | None = None) -> dict:
    """Measure the chosen ``sections`` for ``models`` (None: every registered model; two small ones when
    ``quick``); ``quick`` trades precision for seconds."""
    from benchmarks.machine import machine, matmul_ceiling

    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"sections={list(sections)}: unknown section(s) {sorted(unknown)}; expected some of "
                          f"{list(SECTIONS)}")
    unknown_models = set(models or ()) - set(list_models())
    if unknown_models:
        raise ConfigError(f"models={list(models)}: unknown model(s) {sorted(unknown_models)}; "
                          f"expected some of {list_models()}")
    timing = 0.05 if quick else 0.5  # seconds of repeated calls behind each median
    report = {"machine": machine(), "quick": quick}
    report["matmul_gflops"] = ceiling = matmul_ceiling(1024 if quick else 2048, timing)
    if source is not None and "data" in sections:
        from benchmarks.data import cache_build, loader_throughput

        report["cache_build"] = cache_build(source)
        report["loader_images_per_s"] = loader_throughput(source, batches=8 if quick else 40)
    models = list(models) if models is not None else ["baseline_cnn", "linear"] if quick else list_models()
    if "training" in sections:
        from benchmarks.training import training_throughput

        report["training"] = training_throughput(models, [64] if quick else [64, 128], steps=3 if quick else 12,
                                                 ceiling=ceiling)
    if "inference" in sections:
        from benchmarks.inference import backend_latency, classification_latency

        report["inference_ms"] = classification_latency(models, timing)
        report["backends_ms"] = backend_latency(tuple(BUNDLED_MODELS), timing)
    if "pipeline" in sections:
        from benchmarks.pipeline import pipeline_latency

        report["pipeline"] = pipeline_latency(source, timing, frames=30 if quick else 300)
    if "compare" in sections:
        from benchmarks.compare import keras_comparison

        report["compare"] = keras_comparison(quick)
    return report


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} threads, torch {m['torch']}, capability {m['capability']}, "
             f"AVX-512 BF16 {m['avx512_bf16']}, AMX {m['amx']}"
             + "".join(f", {k}={v}" for k, v in m.get("isa_limits", {}).items()),
             "", "| matmul ceiling | GFLOP/s |", "|---|---|"]
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
        lines += ["", "Bundled models through `Recognizer.classify`, one thread (ms per call).", "",
                  "| model / backend | 1 face | 32 faces |", "|---|---|---|"]
        lines += [f"| {k} | {v['1_faces_ms']:.2f} | {v['32_faces_ms']:.1f} |" for k, v in report["backends_ms"].items()]
    if "pipeline" in report:
        lines += _pipeline_table(report["pipeline"])
    if "compare" in report:
        from benchmarks.compare import compare_table

        lines += compare_table(report["compare"])
    return "\n".join(lines)


def _training_table(training: dict) -> list[str]:
    """fp32 columns always; bf16 columns only where the CPU has native bf16 (they were measured)."""
    bf16 = any("bf16" in row for row in training.values())
    head = "| model | batch | MFLOPs/img | fp32 img/s | fp32+CL | fp32+CL % of fp32 ceiling |"
    if bf16:
        head += " bf16 | bf16+CL (x fp32) | bf16+CL % of bf16 ceiling |"
    lines = ["", "`train.py model=<name>` in the Trainer (AdamW, no augmentation): steady-state images/s.", "",
             head + " s/epoch (fastest) | peak RSS MB |", "|---" * (head.count("|") + 1) + "|"]
    for row in training.values():
        fast = row["bf16+channels_last" if bf16 else "fp32+channels_last"]
        cells = [row["model"], row["batch_size"], f"{row['mflops_per_image']:.1f}",
                 f"{row['fp32']['images_per_s']:.0f}",
                 f"{row['fp32+channels_last']['images_per_s']:.0f}",
                 f"{100 * row['fp32+channels_last']['ceiling_fraction']:.1f}"]
        if bf16:
            cells += [f"{row['bf16']['images_per_s']:.0f}",
                      f"{fast['images_per_s']:.0f} ({fast['speedup_vs_fp32']:.1f}x)",
                      f"{100 * fast['ceiling_fraction']:.1f}"]
        cells += [f"{fast['epoch_seconds']:.0f}", f"{row['peak_rss_mb']:.0f}"]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return lines


def _inference_table(inference: dict) -> list[str]:
    lines = ["", "One thread. *deployed*: as the Recognizer runs it (BatchNorm folded, bf16 on native-bf16 CPUs).", "",
             "| model | 1 face fp32 (ms) | 1 face deployed | 32 faces fp32 | 32 faces deployed | "
             "per face at 32, deployed |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {row['fp32_batch1_ms']:.2f} | {row['deployed_batch1_ms']:.2f} | "
              f"{row['fp32_batch32_ms']:.1f} | "
              f"{row['deployed_batch32_ms']:.1f} | {row['deployed_per_face_ms_at_32']:.2f} |"
              for name, row in inference.items()]
    return lines


def _pipeline_table(pipeline: dict) -> list[str]:
    lines = ["", "| detection alone, one thread | ms |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in pipeline["detection"].items()]
    lines += ["", "Whole webcam frame (640x480, one moving face: detect + classify + smooth + draw), one thread.", "",
              "| detector | median ms | p95 ms | detector share | frames with the face | fps |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {k.removeprefix('frame_640x480_')} | {v['median_ms']:.2f} | {v['p95_ms']:.2f} | "
              f"{100 * v['detector_share']:.0f}% | {100 * v['frames_with_a_face']:.0f}% | {v['fps']:.0f} |"
              for k, v in pipeline.items() if k.startswith("frame_")]
    return lines
