"""Export a checkpoint to one small file: python scripts/export.py ckpt_path=<ckpt> output=<model.pt> [command="..."]

The run's metrics.json (beside checkpoints/) is stored as the model's metadata, so the file says
what it scored; ``command`` records how it was trained.
"""

import json
import sys
from pathlib import Path

from fer.export import export_checkpoint


def main() -> None:
    options = dict(arg.split("=", 1) for arg in sys.argv[1:])
    if "ckpt_path" not in options or "output" not in options:
        sys.exit(__doc__)
    checkpoint = Path(options["ckpt_path"])
    metrics_file = checkpoint.parent.parent / "metrics.json"
    metadata = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    metadata.pop("best_checkpoint", None)
    if "command" in options:
        metadata["command"] = options["command"]
    path = export_checkpoint(checkpoint, options["output"], metadata)
    print(f"{path} ({path.stat().st_size / 2**20:.1f} MB), test_acc {metadata.get('test_acc')}")


if __name__ == "__main__":
    main()
