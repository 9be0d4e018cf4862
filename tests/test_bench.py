"""bench.py quick=true measures every section and reports positive numbers (speed itself is never asserted)."""

import json

from conftest import REPO, run_script
from fer.bench import AUGMENT_PRESETS
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
                    "pipeline"):
        assert report[section], section
    assert set(report["loader_images_per_s"]) == set(AUGMENT_PRESETS) == {p.stem for p in (REPO / "conf" / "augment").glob("*.yaml")}
    row = report["training"]["baseline_cnn@64"]
    native = best_precision("cpu") == "bf16-mixed"  # bf16 is measured (and shown) only where the CPU has it
    assert {"fp32", "fp32+channels_last"} <= set(row) and ({"bf16", "bf16+channels_last"} <= set(row)) == native
    assert ("bf16+CL" in (tmp_path / "bench.md").read_text()) == native
    measured = [report["matmul_gflops"], report["loader_images_per_s"], report["training"], report["inference_ms"],
                report["pipeline"], report["cache_build"]]
    assert all(n > 0 for section in measured for n in _numbers(section) if n is not None)
    assert {"pipeline_640x480_median_ms", "classify_one_face_ms_fast_model",
            "classify_one_face_ms_accurate_model"} <= set(report["pipeline"])
    assert (tmp_path / "bench.md").read_text().count("|") > 20 and "img/s" in result.stdout


def test_pipeline_is_timed_on_a_frame_with_a_face_even_without_a_dataset(tmp_path):
    out = tmp_path / "bench.json"
    run_script("bench.py", "quick=true", "sections=[pipeline]", f"output={out}")
    assert json.loads(out.read_text())["pipeline"]["faces_in_frame"] == 1  # the bundled test face
