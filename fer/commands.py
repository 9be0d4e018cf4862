"""The command-line programs, one function each: scripts/<name>.py in a checkout and the ``fer-<name>``
console commands of an installed package run these same functions (see pyproject.toml)."""

from __future__ import annotations

import sys
from pathlib import Path

from fer.cli import app
from fer.errors import DataError, InputFileError, UserError


@app("train")
def train(cfg) -> float | None:
    """Train a model: fer-train [model=bn_cnn] [data.source=fer2013.zip] [experiment=quick] [-m ...]"""
    from lightning.pytorch.utilities import rank_zero_only

    from fer.summary import format_run
    from fer.train import train as fit

    metrics = fit(cfg)
    rank_zero_only(print)(format_run(metrics))  # once, also under data parallelism
    return metrics.get(cfg.optimized_metric)  # the objective of hyper-parameter sweeps


@app("eval")
def evaluate(cfg) -> None:
    """Score a model:
    fer-eval ckpt_path=<ckpt|model.pt|accurate|fast> [data=folder|csv|npz data.source=<path>] [split=test]"""
    from fer.eval import evaluate as score
    from fer.summary import format_run

    print(format_run(score(cfg)))


@app("predict")
def predict(cfg) -> None:
    """Emotions in photos: fer-predict input=<image|folder|glob> [output_dir=<dir>] [model_file=accurate|fast|<file>]"""
    from fer.apps.predict import format_labelled, predict as run

    summary = run(cfg)
    print(f"{summary['images']} images read, {summary['faces']} faces; "
          f"{summary['output']}/predictions.csv and annotated/")
    report_unreadable(summary["unreadable"])
    if "labelled" in summary:
        print(format_labelled(summary["labelled"]))
    if "unscored" in summary:
        print("labelled but not scored: " + "; ".join(f"{n} image{'s' * (n > 1)} {why}"
                                                      for why, n in summary["unscored"].items()))
    if summary["images"] == 0:
        raise DataError(f"{cfg.input}: no input could be read")


def report_unreadable(paths: list[str]) -> None:
    """The images skipped as unreadable, again at the end, where a long run's log lines have scrolled away."""
    if paths:
        print(f"{len(paths)} unreadable (corrupt, truncated, or not an image; see above): {', '.join(paths[:10])}"
              + (", …" if len(paths) > 10 else ""), file=sys.stderr)


@app("webcam")
def webcam(cfg) -> None:
    """Live emotions: fer-webcam [source=0|<video>|<folder>] [headless=true output=<file.mp4>]"""
    from fer.apps.webcam import run

    result = run(cfg)
    print(f"{result['frames']} frames at {result['fps']:.1f} frames/s" +
          (f"; wrote {result['output']} and its .csv" if result["output"] else ""))
    report_unreadable(result["unreadable"])
    if result["frames"] == 0 and result["unreadable"]:
        raise DataError(f"{cfg.source}: no image in this folder could be read")


@app("prepare_data")
def prepare(cfg) -> None:
    """Convert a dataset: fer-prepare source=<zip|dir|csv|npz> output=<path> format=folder|csv|npz"""
    from fer.data.prepare import convert, counts_table

    counts = convert(cfg.source, cfg.output, cfg.format, channels=cfg.channels, image_size=cfg.image_size,
                     skip_corrupt=cfg.skip_corrupt, overwrite=cfg.overwrite)
    print(f"{cfg.source} -> {cfg.output} ({cfg.format})\n{counts_table(counts)}")


@app("export")
def export(cfg) -> None:
    """Export a model to one file: fer-export ckpt_path=<ckpt|model.pt|accurate|fast> output=<file> [format=pt|onnx]"""
    from fer.inference.model import export_model

    path, metadata = export_model(cfg.ckpt_path, cfg.output, format=cfg.format, command=cfg.command,
                                  overwrite=cfg.overwrite)
    print(f"{path} ({path.stat().st_size / 2**20:.1f} MB, {cfg.format}), test_acc {metadata.get('test_acc')}")


@app("compare")
def compare(cfg) -> None:
    """Compare runs: fer-compare root=outputs/train [sort=test_f1_macro] [columns=[model,test_acc]] [plot=acc.png]"""
    from fer.report import plot_accuracy_vs_hours
    from fer.summary import DEFAULT_COLUMNS, collect_runs, markdown_table

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


@app("make_emoji")
def make_emoji(cfg) -> None:
    """Render the emoji assets: scripts/make_emoji.py [font=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf]"""
    from fer.inference.emoji import BUNDLED_EMOJI_DIR, render_emoji_set

    font = Path(cfg.font)
    if not font.is_file():
        raise InputFileError(f"{font}: not found; install it with 'apt-get install fonts-noto-color-emoji' "
                             "or give font=")
    for path in render_emoji_set(font, Path(cfg.output or BUNDLED_EMOJI_DIR)):
        print(path)


@app("serve")
def serve(cfg) -> None:
    """Live emotions in a browser: fer-serve [model_file=fast|accurate|<file>] [host=127.0.0.1 port=8000]"""
    from fer.inference.recognizer import use_threads

    try:
        from fer.apps.serve import serve as run
    except ImportError as err:
        raise UserError(f"the web page needs the optional extra: pip install 'fer[web]' ({err})") from None
    use_threads(cfg.threads)
    run(cfg)
