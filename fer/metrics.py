"""The one path for evaluation numbers: torchmetrics collects them (training, evaluation, predict), and one
function turns what they computed into the report every consumer writes and prints."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
    MulticlassSpecificity,
)


def evaluation_metrics(num_classes: int) -> MetricCollection:
    """Accuracy, macro F1, per-class precision / recall / F1 / specificity and the confusion matrix."""
    return MetricCollection({
        "acc": MulticlassAccuracy(num_classes, average="micro"),
        "f1_macro": MulticlassF1Score(num_classes, average="macro"),
        "precision": MulticlassPrecision(num_classes, average=None),
        "recall": MulticlassRecall(num_classes, average=None),
        "f1": MulticlassF1Score(num_classes, average=None),
        "specificity": MulticlassSpecificity(num_classes, average=None),
        "confusion": MulticlassConfusionMatrix(num_classes),
    })


def classification_report(values: dict[str, Tensor], classes: list[str]) -> dict[str, Any]:
    """``evaluation_metrics(...).compute()`` as plain data: accuracy, macro F1, per-class rows (with the
    support, from the confusion matrix's rows = true classes) and the confusion matrix."""
    confusion = values["confusion"].long().cpu()
    return {
        "accuracy": float(values["acc"]),
        "f1_macro": float(values["f1_macro"]),
        "images": int(confusion.sum()),
        "classes": {c: {"precision": float(values["precision"][i]), "recall": float(values["recall"][i]),
                        "specificity": float(values["specificity"][i]), "f1": float(values["f1"][i]),
                        "support": int(confusion[i].sum())} for i, c in enumerate(classes)},
        "confusion": confusion.tolist(),
    }


def score_labels(truths: list[str], guesses: list[str], classes: list[str]) -> dict[str, Any]:
    """The report for predicted labels against true ones (a folder of class folders given to predict)."""
    target = torch.tensor([classes.index(t) for t in truths])
    preds = torch.tensor([classes.index(g) for g in guesses])
    metrics = evaluation_metrics(len(classes))
    metrics.update(preds, target)
    return classification_report(metrics.compute(), classes)
