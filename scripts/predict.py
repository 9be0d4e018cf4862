"""Emotions in photos:
python scripts/predict.py input=<image|folder|glob> [output_dir=<dir>] [model_file=accurate|fast|<model.pt|.ckpt>]"""

from fer.commands import predict

if __name__ == "__main__":
    predict()
