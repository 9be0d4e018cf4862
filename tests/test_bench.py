"""bench.py quick=true measures every section and reports positive numbers (speed itself is never asserted)."""

import json

import pytest

from benchmarks.data import AUGMENT_PRESETS
from conftest import REPO, run_script
from fer.config import best_precision


def _numbers(tree):
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _numbers(value)
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool):
        yield tree


def test_bench_quick_writes_every_section(tmp_path, fer2013_zip):
    out = tmp_path / "bench.json"
    result = run_script("bench.py", "quick=true", f"source={fer2013_zip}", f"output={out}")
    report = json.loads(out.read_text())
    for section in ("machine", "matmul_gflops", "cache_build", "loader_images_per_s", "training", "inference_ms",
                    "backends_ms", "pipeline"):
        assert report[section], section
    presets = {p.stem for p in (REPO / "conf" / "augment").glob("*.yaml")}
    assert set(report["loader_images_per_s"]) == set(AUGMENT_PRESETS) == presets
    row = report["training"]["baseline_cnn@64"]
    native = best_precision("cpu") == "bf16-mixed"  # bf16 is measured (and shown) only where the CPU has it
    assert {"fp32", "fp32+channels_last"} <= set(row) and ({"bf16", "bf16+channels_last"} <= set(row)) == native
    assert ("bf16+CL" in (tmp_path / "bench.md").read_text()) == native
    measured = [report["matmul_gflops"], report["loader_images_per_s"], report["training"], report["inference_ms"],
                report["backends_ms"], report["pipeline"], report["cache_build"]]
    assert all(n > 0 for section in measured for n in _numbers(section) if n is not None)
    backends = {"accurate / torch fp32", "fast / torch deployed (auto)", "fast / onnxruntime fp32"}
    assert backends <= set(report["backends_ms"])
    frame = report["pipeline"]["frame_640x480_haar_tracked"]  # the webcam's default detector
    assert frame["p95_ms"] >= frame["median_ms"] and 0 < frame["detector_share"] < 1
    assert (tmp_path / "bench.md").read_text().count("|") > 20 and "img/s" in result.stdout


def test_pipeline_is_timed_on_a_frame_with_a_face_even_without_a_dataset(tmp_path):
    out = tmp_path / "bench.json"
    run_script("bench.py", "quick=true", "sections=[pipeline]", f"output={out}")
    pipeline = json.loads(out.read_text())["pipeline"]
    assert pipeline["frame_640x480_haar_tracked"]["frames_with_a_face"] == 1  # the bundled test face, in every frame
    assert pipeline["frame_640x480_haar_fast"]["frames_with_a_face"] == 1


def test_keras_comparison_says_why_it_measured_nothing_without_tensorflow(monkeypatch):
    import benchmarks.compare as compare

    monkeypatch.setattr(compare.importlib.util, "find_spec", lambda name: None)
    result = compare.keras_comparison(quick=True)
    assert "pip install 'fer[compare]'" in result["skipped"]
    assert "pip install 'fer[compare]'" in compare.compare_table(result)[-1]


def test_keras_comparison_trains_both_report_nets_side_by_side():
    pytest.importorskip("tensorflow", reason="TensorFlow is the optional extra fer[compare]")
    from benchmarks.compare import PAIRS, compare_table, keras_comparison, keras_model
    from fer.models import create_model

    for report, name in PAIRS.items():  # the same network on both sides, weight for weight
        assert keras_model(report).count_params() == sum(p.numel() for p in create_model(name).parameters())
    result = keras_comparison(quick=True, rounds=1)
    for report in PAIRS:
        rates = result[report]["images_per_s"]
        assert rates["keras"] > 0 and rates["32-true"] > 0
        assert result[report]["ratio_vs_keras"]["32-true"] == pytest.approx(rates["32-true"] / rates["keras"])
    assert "x Keras" in "\n".join(compare_table(result))


def test_a_cpu_limited_to_avx2_kernels_gets_fp32(monkeypatch):
    """``ATEN_CPU_CAPABILITY=avx2`` (how bench.py's AVX2 comparison imitates a CPU without AVX-512) turns
    native bf16 off, whatever the CPU's flags say."""
    import torch

    from fer.config import native_cpu_bf16

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert native_cpu_bf16() and best_precision("cpu") == "bf16-mixed"
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert not native_cpu_bf16() and best_precision("cpu") == "32-true"
