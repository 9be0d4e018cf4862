"""Reports agree with the metrics they sit beside, on a real short FER-2013 run and on tiny data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer.metrics import score_labels

REPORT_FILES = ("report.md", "report.json", "confusion_counts.png", "confusion_normalized.png", "misclassified.png",
                "curves.png")


def check_report_agrees_with_metrics(run_dir) -> dict:
    for name in REPORT_FILES:
        assert (run_dir / name).stat().st_size > 0, name
    report = json.loads((run_dir / "report.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    cm = np.array(report["confusion"])
    assert np.trace(cm) / cm.sum() == pytest.approx(metrics["test_acc"], abs=1e-6)
    assert report["accuracy"] == pytest.approx(metrics["test_acc"], abs=1e-6)
    assert report["f1_macro"] == pytest.approx(metrics["test_f1_macro"], abs=1e-5)
    for i, (cls, row) in enumerate(report["classes"].items()):
        assert row["support"] == cm[i].sum()
        assert row["recall"] == pytest.approx(cm[i, i] / max(cm[i].sum(), 1))
        for name in ("precision", "recall", "f1", "specificity"):  # torchmetrics, logged during test
            assert row[name] == pytest.approx(metrics[f"test_{name}/{cls}"], abs=1e-5), (cls, name)
    assert list((run_dir / "tensorboard").glob("**/projector_config.pbtxt"))
    return report


def test_scores_of_known_predictions_come_from_torchmetrics():
    truths = ["a"] * 10 + ["b"] * 4
    guesses = ["a"] * 8 + ["b"] * 2 + ["a"] + ["b"] * 3  # confusion [[8, 2, 0], [1, 3, 0], [0, 0, 0]]
    report = score_labels(truths, guesses, ["a", "b", "c"])
    assert report["confusion"] == [[8, 2, 0], [1, 3, 0], [0, 0, 0]] and report["images"] == 14
    assert report["accuracy"] == pytest.approx(11 / 14)
    a = report["classes"]["a"]
    assert (a["precision"], a["recall"], a["specificity"]) == pytest.approx((8 / 9, 0.8, 3 / 4))
    assert report["classes"]["c"] == {"precision": 0, "recall": 0, "specificity": 1.0, "f1": 0, "support": 0}
    f1_a, f1_b = 2 * (8 / 9 * 0.8) / (8 / 9 + 0.8), 2 * (0.6 * 0.75) / (0.6 + 0.75)
    assert report["f1_macro"] == pytest.approx((f1_a + f1_b) / 2)  # class c never occurs: not averaged


def test_eval_with_tta_reports_the_probabilities_it_scored(tmp_path, trained_tiny, tiny_sources):
    from conftest import run_script

    best = json.loads((trained_tiny / "metrics.json").read_text())["best_checkpoint"]
    run_script("eval.py", f"ckpt_path={best}", f"data.source={tiny_sources['folder']}", "tta=ten_crop",
               f"hydra.run.dir={tmp_path}")
    report = json.loads((tmp_path / "report.json").read_text())
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(metrics["test_acc"], abs=1e-6) and metrics["tta"] == "ten_crop"
    assert (tmp_path / "misclassified.png").stat().st_size > 0


def test_report_of_a_tiny_run(trained_tiny):
    report = check_report_agrees_with_metrics(trained_tiny)
    assert report["images"] == 56


@pytest.mark.slow
def test_report_of_a_real_short_fer2013_run(real_short_run):
    report = check_report_agrees_with_metrics(real_short_run)
    assert report["images"] == 3589


def test_compare_script_tables_every_run_sorted_by_a_metric(tmp_path, trained_tiny):
    import shutil

    from conftest import run_script

    for name, acc in (("good", 2.0), ("bad", -1.0)):  # around any real score
        (tmp_path / name).mkdir()
        metrics = json.loads((trained_tiny / "metrics.json").read_text())
        (tmp_path / name / "metrics.json").write_text(json.dumps({**metrics, "test_f1_macro": acc}))
    shutil.copy(trained_tiny / "metrics.json", tmp_path / "metrics.json")
    plot = tmp_path / "hours.png"
    out = run_script("compare.py", f"root={tmp_path}", "sort=test_f1_macro", f"plot={plot}").stdout
    rows = [line for line in out.splitlines() if line.startswith("| ") and "run" not in line]
    assert [r.split("|")[1].strip() for r in rows] == ["good", ".", "bad"]
    assert (tmp_path / "comparison.md").read_text().strip() in out
    assert plot.stat().st_size > 10_000  # three labelled points against training hours
