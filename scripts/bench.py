"""Measure speed on this machine:
python scripts/bench.py [quick=true] [source=fer2013.zip] [sections=[inference,pipeline]] [models=[vgg,bn_cnn]]

The measurements live in scripts/benchmarks/ (tooling of this repository, not part of the fer package)."""

import json
from pathlib import Path

from benchmarks import markdown, run
from fer.cli import app


@app("bench")
def main(cfg) -> None:
    models = tuple(cfg.models) if cfg.models is not None else None
    report = run(Path(cfg.source) if cfg.source else None, cfg.quick, tuple(cfg.sections), models)
    table = markdown(report)
    output = Path(cfg.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    output.with_suffix(".md").write_text(table + "\n")
    print(f"{table}\n\nwritten to {output} and {output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
