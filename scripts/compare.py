"""Compare runs: python scripts/compare.py root=outputs/train [sort=test_f1_macro] [columns=[model,test_acc]] [plot=acc.png]"""

from pathlib import Path

from fer.cli import app
from fer.errors import InputFileError
from fer.report import plot_accuracy_vs_hours
from fer.summary import DEFAULT_COLUMNS, collect_runs, markdown_table


@app("compare")
def main(cfg) -> None:
    rows = collect_runs(cfg.root)
    if not rows:
        raise InputFileError(f"{cfg.root}: no metrics.json under it (give root=<a directory of runs>)")
    table = markdown_table(rows, columns=list(cfg.columns or DEFAULT_COLUMNS), sort_by=cfg.sort)
    output = Path(cfg.output or Path(cfg.root) / "comparison.md")
    output.write_text(table + "\n")
    print(f"{table}\n\n{len(rows)} runs; written to {output}")
    if cfg.plot:
        plot_accuracy_vs_hours(rows, metric=cfg.sort).savefig(cfg.plot, dpi=110)
        print(f"plot written to {cfg.plot}")


if __name__ == "__main__":
    main()
