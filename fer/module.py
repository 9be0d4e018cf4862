"""The LightningModule: normalisation, loss, metrics, optimiser and schedule around any registered model.

Every constructor argument is plain data (dicts, lists, numbers), so checkpoints hold a complete,
rebuildable description of the model and load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import inspect
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import Tensor
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torchmetrics.classification import MulticlassAccuracy

from fer.distill import Teachers
from fer.errors import ConfigError
from fer.metrics import evaluation_metrics
from fer.models import create_model
from fer.tta import predict_log_probs


def plain(value: Any) -> Any:
    """OmegaConf containers -> dicts and lists (checkpoints must hold plain data only)."""
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


class FERModule(L.LightningModule):
    """Cross-entropy training of ``model`` on faces given as float [0, 1] batches.

    Args:
        model: the network as ``{"name": <registered model>, **options}`` (the ``model=`` config group),
            built through the registry and sized here from ``preprocessing``.
        preprocessing: ``image_size``, ``channels``, ``classes`` of the training data (from the DataModule).
        optimizer / scheduler: Hydra partial configs; the scheduler learns its length from the trainer.
        mean / std: input normalisation, part of the model so inference cannot forget it. No defaults here:
            conf/module/default.yaml is their one source, and exported files carry their own.
        channels_last: train in the channels-last memory format (faster convolutions on CPUs with oneDNN).
        class_weights: per-class loss weights (``balance=loss_weights``), or None.
        distill: ``teachers`` (model files or bundled names), ``temperature``, ``weight`` of the soft-target
            loss, ``cached`` (teachers answer once per training face, over the TTA ``views``, instead of on
            every batch) (``distill=`` config group, fer.distill); None trains on the labels alone.

    Training labels may be class indices or class probabilities (mixup / cutmix). ``tta`` (set by
    eval, not saved) averages validation and test predictions over flipped or ten-crop views.
    """

    def __init__(self, model: dict, preprocessing: dict, optimizer: dict, *, mean: float, std: float,
                 channels_last: bool, scheduler: dict | None = None, label_smoothing: float = 0.0,
                 class_weights: list[float] | None = None, distill: dict | None = None) -> None:
        model, preprocessing, optimizer, scheduler, class_weights, distill = (
            plain(model), plain(preprocessing), plain(optimizer), plain(scheduler), plain(class_weights),
            plain(distill))
        super().__init__()
        self.save_hyperparameters()
        self.classes = list(preprocessing["classes"])
        self.net = create_model(**self.model_spec, in_channels=preprocessing["channels"],
                                num_classes=len(self.classes), image_size=preprocessing["image_size"])
        self.channels_last = channels_last
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        weights = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        self.register_buffer("class_weights", weights, persistent=False)
        self.train_acc = MulticlassAccuracy(len(self.classes), average="micro")
        self.val_metrics = evaluation_metrics(len(self.classes))
        self.test_metrics = evaluation_metrics(len(self.classes))
        self.evaluation: dict[str, dict[str, Tensor]] = {}  # the last computed metrics per stage (for reports)
        self.tta = "none"
        self._teachers: Teachers | None = None  # built on the first training step, never saved with the student
        # one image: Lightning's model summary then prints parameters and FLOPs per image
        self.example_input_array = torch.zeros(1, preprocessing["channels"], preprocessing["image_size"],
                                               preprocessing["image_size"])

    @property
    def model_spec(self) -> dict[str, Any]:
        """``{"name": ..., **options}``: what rebuilds the network through the registry (files written before
        the registry knew every variant also name a ``_target_``, which is dropped)."""
        return {k: v for k, v in self.hparams.model.items() if k != "_target_"}

    @property
    def preprocessing(self) -> dict[str, Any]:
        """Everything inference needs to feed this model exactly as it was trained."""
        return {**self.hparams.preprocessing, "mean": self.hparams.mean, "std": self.hparams.std}

    # ------------------------------------------------------------------ forward
    def normalize(self, x: Tensor) -> Tensor:
        x = (x - self.hparams.mean) / self.hparams.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def forward(self, x: Tensor) -> Tensor:
        """Float [0, 1] images [B, C, H, W] -> logits [B, classes]."""
        return self.net(self.normalize(x))

    def embed(self, x: Tensor) -> Tensor:
        """Penultimate features (for the embedding projector)."""
        return self.net.features(self.normalize(x))

    # ------------------------------------------------------------------ steps
    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(logits.float(), target, weight=self.class_weights,
                               label_smoothing=self.hparams.label_smoothing)

    @property
    def teachers(self) -> Teachers:
        if self._teachers is None:
            self._teachers = Teachers(self.hparams.distill["teachers"], self.hparams.distill["temperature"],
                                      self.hparams.preprocessing).to(self.device)
        return self._teachers

    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        """``batch``: images, labels and, with cached distillation, the teachers' soft targets."""
        images, labels, *cached = batch
        logits = self(images)
        loss = self.loss(logits, labels)
        if self.hparams.distill:
            weight = self.hparams.distill["weight"]
            targets = cached[0] if cached else self.teachers.probabilities(images)
            loss = (1 - weight) * loss + weight * self.teachers.loss(targets, logits)
        loss = loss + self.net.regularization_loss()
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()} at epoch {self.current_epoch}, step {self.global_step}: "
                "the run diverged; lower module.optimizer.lr, add warm-up, or use trainer.precision=32-true")
        self.train_acc(logits, labels if labels.ndim == 1 else labels.argmax(1))
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        self.log("train_acc", self.train_acc, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def _evaluate(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        images, labels = batch
        log_probs = predict_log_probs(self, images, self.tta)
        self.log(f"{stage}_loss", self.loss(log_probs, labels), on_epoch=True, prog_bar=stage == "val",
                 sync_dist=True)
        getattr(self, f"{stage}_metrics").update(log_probs, labels)
        return log_probs

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> dict[str, Tensor]:
        """The probabilities the metrics scored (with TTA, if set) and the embedding, for the report."""
        return {"probs": self._evaluate(batch, "test").exp(), "features": self.embed(batch[0])}

    def _log_epoch_metrics(self, stage: str) -> None:
        metrics = getattr(self, f"{stage}_metrics")
        values = {name: value.cpu() for name, value in metrics.compute().items()}
        metrics.reset()
        self.evaluation[stage] = values
        self.log(f"{stage}_acc", values["acc"], prog_bar=stage == "val")
        self.log(f"{stage}_f1_macro", values["f1_macro"])
        self.log_dict({f"{stage}_{name}/{cls}": values[name][i] for name in ("precision", "recall", "f1", "specificity")
                       for i, cls in enumerate(self.classes)})

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    # ------------------------------------------------------------------ set-up
    def setup(self, stage: str) -> None:
        """Cached distillation's soft targets go to the DataModule before anything builds the training loader
        (the one-cycle schedule's length already does, in ``configure_optimizers``)."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if stage == "fit" and self.hparams.distill and self.hparams.distill.get("cached") and datamodule is not None:
            faces = datamodule.split_tensors("train").images.to(self.device)
            datamodule.soft_targets = self.teachers.probabilities_of_faces(faces, self.hparams.distill["views"],
                                                                           datamodule.cache_dir)

    def on_fit_start(self) -> None:
        """Data-dependent initialisation (the mlp's PCA), once, from the training images; a net whose head
        is sized for one input size refuses progressively resized training faces before any step."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if getattr(datamodule, "resize", None) is not None and self.net.fixed_input_size:
            raise ConfigError(f"resize=progressive: model {self.model_spec['name']} has a head sized for "
                              f"{self.preprocessing['image_size']}x{self.preprocessing['image_size']} faces only; "
                              "choose one that pools globally (the vgg and resnet families)")
        if hasattr(self.net, "fit_to_data") and datamodule is not None:
            images = datamodule.split_tensors("train").images.to(self.device).float().div_(255)
            self.net.fit_to_data(self.normalize(images))

    def configure_optimizers(self):
        optimizer = instantiate(self.hparams.optimizer)(self.parameters())
        if not self.hparams.scheduler:
            return optimizer
        make = instantiate(self.hparams.scheduler)
        steps = int(self.trainer.estimated_stepping_batches)
        length = {name: steps for name in ("total_steps", "T_max") if name in inspect.signature(make.func).parameters}
        scheduler = make(optimizer, **length)
        if isinstance(scheduler, ReduceLROnPlateau):
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "monitor": "val_acc", "interval": "epoch"}}
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
