"""Score a checkpoint: python scripts/eval.py ckpt_path=<ckpt> [data=folder|csv|npz data.source=<path>] [split=test]"""

from fer.commands import evaluate

if __name__ == "__main__":
    evaluate()
