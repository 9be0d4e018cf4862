"""Compare runs: python scripts/compare.py outputs/train [--sort test_f1_macro] [--columns model,test_acc,...] [--plot acc.png]"""

import argparse
from pathlib import Path

from fer.report import plot_accuracy_vs_hours
from fer.summary import DEFAULT_COLUMNS, collect_runs, markdown_table


def main() -> None:
    parser = argparse.ArgumentParser(description="One Markdown table of every run (metrics.json) under a directory.")
    parser.add_argument("root", type=Path, help="directory searched for metrics.json files, e.g. outputs/")
    parser.add_argument("--sort", default="test_acc", help="metric to sort by, best first (default test_acc)")
    parser.add_argument("--columns", default=",".join(DEFAULT_COLUMNS), help="comma-separated metrics.json keys")
    parser.add_argument("--output", type=Path, default=None, help="where to write the table (default ROOT/comparison.md)")
    parser.add_argument("--plot", type=Path, default=None, help="also draw the sort metric against training hours (PNG)")
    args = parser.parse_args()
    rows = collect_runs(args.root)
    if not rows:
        raise SystemExit(f"error: no metrics.json under {args.root}")
    table = markdown_table(rows, columns=args.columns.split(","), sort_by=args.sort)
    output = args.output or args.root / "comparison.md"
    output.write_text(table + "\n")
    print(f"{table}\n\n{len(rows)} runs; written to {output}")
    if args.plot:
        plot_accuracy_vs_hours(rows, metric=args.sort).savefig(args.plot, dpi=110)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
