"""Callbacks for the resume tests: a run that dies mid-epoch, by SIGKILL (a crash, a pre-empted job) or by SIGTERM."""

import os
import signal

import lightning as L


class KillAtStep(L.Callback):
    def __init__(self, step: int, signal_name: str = "SIGKILL") -> None:
        self.step, self.signal = step, getattr(signal, signal_name)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signal)
