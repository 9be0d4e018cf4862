"""Export a model to one small file: python scripts/export.py ckpt_path=<ckpt|model.pt|accurate|fast> output=<file>
[format=pt|onnx] ['command="..."']"""

from fer.commands import export

if __name__ == "__main__":
    export()
