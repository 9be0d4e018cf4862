"""Where a model fails, in pictures and tables: confusion matrices, per-class metrics, curves,
misclassified faces and the embedding projector, for every test or eval run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from lightning.pytorch.loggers import TensorBoardLogger  # noqa: E402

from fer.metrics import classification_report  # noqa: E402


def markdown_report(metrics: dict[str, Any], title: str) -> str:
    lines = [f"# {title}", "", f"Accuracy **{metrics['accuracy']:.4f}**, macro F1 **{metrics['f1_macro']:.4f}** "
             f"on {metrics['images']} images.", "",
             "| class | precision | recall | specificity | F1 | support |", "|---|---|---|---|---|---|"]
    lines += [f"| {c} | {m['precision']:.3f} | {m['recall']:.3f} | {m['specificity']:.3f} | {m['f1']:.3f} | "
              f"{m['support']} |" for c, m in metrics["classes"].items()]
    lines += ["", "![confusion matrix](confusion_normalized.png)", "![counts](confusion_counts.png)",
              "![misclassified](misclassified.png)", "![curves](curves.png)"]
    return "\n".join(lines) + "\n"


def plot_confusion(confusion: np.ndarray, classes: list[str], normalize: bool) -> plt.Figure:
    cm = np.asarray(confusion, dtype=np.float64)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    fig, ax = plt.subplots(figsize=(1 + 0.8 * len(classes), 0.8 + 0.7 * len(classes)))
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xticklabels=classes, yticklabels=classes,
           xlabel="predicted", ylabel="true", title="recall per true class" if normalize else "counts")
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    for (r, c), value in np.ndenumerate(shown):
        ax.text(c, r, f"{value:.2f}" if normalize else f"{int(value)}", ha="center", va="center", fontsize=8,
                color="white" if value > shown.max() / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_curves(history: list[dict[str, float]]) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = [h["epoch"] + 1 for h in history]
    for ax, metric in zip(axes, ("acc", "loss"), strict=True):
        for stage, key in (("train", f"train_{metric}" if metric == "acc" else "train_loss_epoch"),
                           ("val", f"val_{metric}")):
            values = [h.get(key) for h in history]
            if any(v is not None for v in values):
                ax.plot(epochs, values, marker="o", ms=3, label=stage)
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric}: train vs val")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_accuracy_vs_hours(rows: list[dict], metric: str = "test_acc") -> plt.Figure:
    """One point per run: ``metric`` against its training wall time, to compare recipes per CPU-hour."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    timed = [r for r in rows if r.get(metric) is not None and r.get("train_seconds")]
    for row in timed:
        hours = row["train_seconds"] / 3600
        axis.scatter(hours, 100 * row[metric], color="tab:blue")
        axis.annotate(row.get("label") or row["run"], (hours, 100 * row[metric]), fontsize=7,
                      xytext=(4, 3), textcoords="offset points")
    axis.set(xlabel="training wall time (hours)", ylabel=f"{metric} (%)", title=f"{metric} against training time")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_misclassified(images: np.ndarray, labels: np.ndarray, probs: np.ndarray, classes: list[str],
                       count: int = 36) -> plt.Figure:
    """The most confidently wrong faces first: true label, predicted label and its confidence."""
    predicted = probs.argmax(1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:count]
    cols = 6
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.9), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong, strict=False):
        face = images[i].transpose(1, 2, 0).squeeze()
        ax.imshow(face, cmap="gray" if face.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(f"{classes[labels[i]]}\n→ {classes[predicted[i]]} {probs[i, predicted[i]]:.0%}", fontsize=8)
    fig.suptitle("misclassified (true → predicted, confidence)", fontsize=10)
    fig.tight_layout()
    return fig


class ReportCallback(L.Callback):
    """Keeps the per-epoch history, logs the validation confusion matrix each epoch, and after every
    test writes ``report.md``, ``report.json``, confusion matrices, curves and misclassified faces to
    ``output_dir`` and the penultimate features of the test faces to TensorBoard's projector.

    Under data parallelism the tables and confusion matrices cover every test face (torchmetrics
    synchronises them); the misclassified grid and the projector show process 0's share.
    """

    def __init__(self, output_dir: str | Path, projector: bool = True, max_projector_images: int = 4000) -> None:
        self.output_dir = Path(output_dir)
        self.projector, self.max_projector_images = projector, max_projector_images
        self.history: list[dict[str, float]] = []
        self._test: dict[str, list[torch.Tensor]] = {}

    # ---- history (kept in checkpoints so a resumed run draws the whole curve)
    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        keys = ("train_loss_epoch", "train_acc", "val_loss", "val_acc", "val_f1_macro")
        row = {k: float(trainer.callback_metrics[k]) for k in keys if k in trainer.callback_metrics}
        self.history.append({"epoch": trainer.current_epoch, **row})
        confusion = getattr(pl_module, "evaluation", {}).get("val", {}).get("confusion")
        for writer in _tensorboards(trainer):
            if confusion is not None:
                figure = plot_confusion(confusion.numpy(), pl_module.classes, normalize=True)
                writer.add_figure("val/confusion_matrix", figure, global_step=trainer.current_epoch)

    # ---- test: collect predictions, then write everything
    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._test = {"images": [], "labels": [], "probs": [], "features": []}

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        """Keeps what the test step scored (its probabilities, TTA included) and its embedding: no second pass."""
        images, labels = batch
        self._test["images"].append((images * 255).round().to(torch.uint8).cpu())
        self._test["labels"].append(labels.cpu())
        self._test["probs"].append(outputs["probs"].float().cpu())
        self._test["features"].append(outputs["features"].float().cpu())

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or not self._test.get("labels"):
            return
        data = {k: torch.cat(v).numpy() for k, v in self._test.items()}
        classes = list(pl_module.classes)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        metrics = classification_report(pl_module.evaluation["test"], classes)
        (self.output_dir / "report.json").write_text(json.dumps(metrics, indent=2) + "\n")
        (self.output_dir / "report.md").write_text(markdown_report(metrics, "Test report"))
        figures = {
            "confusion_counts": plot_confusion(metrics["confusion"], classes, normalize=False),
            "confusion_normalized": plot_confusion(metrics["confusion"], classes, normalize=True),
            "misclassified": plot_misclassified(data["images"], data["labels"], data["probs"], classes),
        }
        if self.history:
            figures["curves"] = plot_curves(self.history)
        writers = _tensorboards(trainer)
        for name, figure in figures.items():
            figure.savefig(self.output_dir / f"{name}.png", dpi=110)
            for writer in writers:
                writer.add_figure(f"test/{name}", figure)
            plt.close(figure)
        if self.projector:
            for writer in writers:
                keep = slice(0, self.max_projector_images)
                sprites = torch.from_numpy(data["images"][keep]).float() / 255
                writer.add_embedding(torch.from_numpy(data["features"][keep]),
                                     metadata=[classes[k] for k in data["labels"][keep]],
                                     label_img=sprites, tag="test_features")


def _tensorboards(trainer: L.Trainer) -> list:
    return [logger.experiment for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]
