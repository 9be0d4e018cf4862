"""A callback for the weight-averaging test: the weights after every optimiser step, kept where the test reads them."""

import lightning as L
import torch

SNAPSHOTS: list[dict[str, torch.Tensor]] = []


class WeightRecorder(L.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        SNAPSHOTS.append({k: v.detach().clone() for k, v in pl_module.state_dict().items()})
