"""The benchmarks behind scripts/bench.py: measurement tooling of this repository, not part of the package.

They drive only what a user of ``fer`` has (the configs, FERDataModule, FERModule, the Lightning
Trainer, the Recognizer), and time with ``torch.utils.benchmark`` wherever a call is repeated in a
steady state; sequences whose frames differ (a video through the live pipeline) get a clock per frame.
"""

from benchmarks.report import SECTIONS, markdown, run

__all__ = ["SECTIONS", "markdown", "run"]
