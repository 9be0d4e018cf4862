"""Measure speed on this machine: python scripts/bench.py [--quick] [--source fer2013.zip] [--sections inference,pipeline] [--output bench.json]"""

import argparse
import json
import sys
from pathlib import Path

from fer.bench import SECTIONS, markdown, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (seconds, not minutes)")
    parser.add_argument("--source", type=Path, default=None, help="FER-2013 zip or folder for the data benchmarks")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--output", type=Path, default=Path("outputs/bench/bench.json"), help="JSON result file")
    # key=value, as the other scripts take their options
    argv = [f"--{a.split('=', 1)[0]}={a.split('=', 1)[1]}" if "=" in a and not a.startswith("-") else a
            for a in sys.argv[1:]]
    args = parser.parse_args(argv)
    report = run(args.source, args.quick, tuple(args.sections.split(",")))
    table = markdown(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(table + "\n")
    print(table)
    print(f"\nwritten to {args.output} and {args.output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
