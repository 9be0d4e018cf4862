"""Compare runs:
python scripts/compare.py root=outputs/train [sort=test_f1_macro] [columns=[model,test_acc]] [plot=acc.png]"""

from fer.commands import compare

if __name__ == "__main__":
    compare()
