"""Test-time augmentation: one home for the views eval, predict and webcam average over.

``flip`` averages a face with its mirror image. ``ten_crop`` pads the face by ``padding`` pixels
(black, as the training crop pads) and averages the four corner crops, the centre crop and
their mirrors at the original size: the shifts the ``crop_flip`` / ``crop_flip_rotate_erase`` augmentation
trained the model on, so no view is out of distribution.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

TTA_MODES = ("none", "flip", "ten_crop")


def views(images: Tensor, mode: str | None, padding: int = 4) -> list[Tensor]:
    """The augmented copies of a batch [B, C, H, W] that ``mode`` averages over."""
    mode = mode or "none"
    if mode == "none":
        return [images]
    if mode == "flip":
        return [images, images.flip(-1)]
    if mode == "ten_crop":
        size = list(images.shape[-2:])
        return list(TF.ten_crop(F.pad(images, (padding,) * 4), size))
    raise ValueError(f"unknown test-time augmentation {mode!r}; expected one of {TTA_MODES}")


def predict_log_probs(model: Callable[[Tensor], Tensor], images: Tensor, mode: str | None,
                      padding: int = 4) -> Tensor:
    """Log of the class probabilities averaged over the views (plain logits when ``mode`` is none).

    Log-probabilities are valid logits: cross-entropy, argmax and torchmetrics treat them as such.
    """
    batch = views(images, mode, padding)
    if len(batch) == 1:
        return model(images).float()
    probs = sum(model(view).float().softmax(1) for view in batch) / len(batch)
    return probs.clamp_min(1e-12).log()
