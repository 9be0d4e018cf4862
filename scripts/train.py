"""Train a model: python scripts/train.py [model=bn_cnn] [data.source=fer2013.zip] [experiment=quick] [-m ...]"""

from fer.commands import train

if __name__ == "__main__":
    train()
