"""Tables across runs: every metrics.json under a directory, one Markdown table."""

from __future__ import annotations

import json
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

DEFAULT_COLUMNS = ("model", "test_acc", "test_f1_macro", "val_acc", "best_epoch", "epochs", "seconds_per_epoch")


def collect_runs(root: str | Path) -> list[dict]:
    rows = []
    for path in sorted(Path(root).rglob("metrics.json")):
        row = json.loads(path.read_text())
        row["run"] = str(path.parent.relative_to(root)) if path.parent != Path(root) else "."
        overrides = path.parent / ".hydra" / "overrides.yaml"  # what a sweep chose for this run
        if overrides.is_file():
            row["overrides"] = " ".join(str(o) for o in OmegaConf.load(overrides)
                                        if not str(o).startswith(("hydra.", "data.source=")))
        rows.append(row)
    _keep_varying_overrides(rows)
    return rows


def _keep_varying_overrides(rows: list[dict]) -> None:
    """Drop the overrides every run shares: what is left is what the sweep varied."""
    listed = [row["overrides"].split() for row in rows if "overrides" in row]
    common = set.intersection(*map(set, listed)) if len(listed) > 1 else set()
    for row in rows:
        if "overrides" in row:
            row["overrides"] = " ".join(o for o in row["overrides"].split() if o not in common)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return "" if value is None else str(value)


def markdown_table(rows: list[dict], columns=DEFAULT_COLUMNS, sort_by: str | None = "test_acc") -> str:
    if sort_by:
        rows = sorted(rows, key=lambda r: (r.get(sort_by) is None, -(r.get(sort_by) or 0)
                                           if isinstance(r.get(sort_by), (int, float)) else str(r.get(sort_by))))
    columns = ["run", *columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, print and write ``summary.md`` comparing its runs."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        root = Path(config.hydra.sweep.dir)
        rows = collect_runs(root)
        if not rows:
            return
        # sorted by the sweep's objective (PublicTest accuracy unless set): model selection never peeks at test
        table = markdown_table(rows, columns=(*DEFAULT_COLUMNS, "overrides"),
                               sort_by=config.get("optimized_metric", "val_acc"))
        (root / "summary.md").write_text(table + "\n")
        print(f"\n{len(rows)} runs in {root}:\n{table}\n(written to {root / 'summary.md'})")


def format_run(metrics: dict) -> str:
    """The few numbers a researcher reads first, then the per-class table of the test split."""
    keys = ("model", "test_acc", "test_f1_macro", "test_loss", "val_acc", "best_epoch", "epochs",
            "seconds_per_epoch", "precision", "best_checkpoint")
    width = max(map(len, keys))
    lines = [f"{k:<{width}}  {_cell(metrics.get(k))}" for k in keys if metrics.get(k) is not None]
    per_class = ("precision", "recall", "f1", "specificity")
    classes = [k.split("/", 1)[1] for k in metrics if k.startswith("test_recall/")]
    if classes:
        lines += ["", f"{'class':<10}" + "".join(f"{name:>12}" for name in per_class)]
        lines += [f"{cls:<10}" + "".join(f"{metrics[f'test_{name}/{cls}']:>12.3f}" for name in per_class)
                  for cls in classes]
    return "\n".join(lines)
