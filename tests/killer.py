"""A callback for the resume test: dies by SIGKILL mid-epoch, as a crashed or pre-empted job would."""

import os
import signal

import lightning as L


class KillAtStep(L.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.step:
            os.kill(os.getpid(), signal.SIGKILL)
