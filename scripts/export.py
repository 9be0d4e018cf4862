"""Export a checkpoint to one small file: python scripts/export.py ckpt_path=<ckpt> output=<model.pt> ['command="..."']"""

from fer.cli import app
from fer.inference.model import export_run_checkpoint


@app("export")
def main(cfg) -> None:
    path, metadata = export_run_checkpoint(cfg.ckpt_path, cfg.output, command=cfg.command, overwrite=cfg.overwrite)
    print(f"{path} ({path.stat().st_size / 2**20:.1f} MB), test_acc {metadata.get('test_acc')}")


if __name__ == "__main__":
    main()
