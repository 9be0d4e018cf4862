"""Score a checkpoint: python scripts/eval.py ckpt_path=<ckpt> [data=folder|csv|npz data.source=<path>] [split=test]"""

from fer.cli import app
from fer.eval import evaluate
from fer.summary import format_run


@app("eval")
def main(cfg) -> None:
    print(format_run(evaluate(cfg)))


if __name__ == "__main__":
    main()
