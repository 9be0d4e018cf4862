"""Convert a dataset: python scripts/prepare_data.py source=<zip|dir|csv|npz> output=<path> format=folder|csv|npz"""

from fer.commands import prepare

if __name__ == "__main__":
    prepare()
