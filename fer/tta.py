"""Test-time augmentation: one home for the views eval, predict and webcam average over.

``flip`` averages a face with its mirror image. ``ten_crop`` pads the face by ``padding`` pixels
(black, as the training crop pads) and averages the four corner crops, the centre crop and
their mirrors at the original size: the shifts the ``crop_flip`` / ``crop_flip_rotate_erase`` augmentation
trained the model on, so no view is out of distribution. ``flip_zoom_rotate`` averages ten views: the face,
enlarged and shrunk by 5%, turned by -6 and +6 degrees, and the mirror of each; the small turns and zooms
that ``crop_flip_rotate_erase`` trains with (within its +-10 degrees and 0.9-1.1). These were chosen on
PublicTest (docs/RESULTS.md, "Test-time augmentation"); on models trained with that augmentation they
add 1-1.5 points over ``flip`` on FER-2013's aligned faces, but nothing through a face detector and less
than ``flip`` on faces already turned, scaled or blurred (a warp of a warped face leaves the trained range).
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from fer.data.augment import affine

TTA_MODES = ("none", "flip", "ten_crop", "flip_zoom_rotate")
# (degrees, zoom) of the flip_zoom_rotate views, each also mirrored
ZOOM_ROTATE_VIEWS = ((0.0, 1.0), (0.0, 0.95), (0.0, 1.05), (-6.0, 1.0), (6.0, 1.0))


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
    if mode == "flip_zoom_rotate":
        warped = [affine(images, degrees, zoom) if (degrees, zoom) != (0.0, 1.0) else images
                  for degrees, zoom in ZOOM_ROTATE_VIEWS]
        return [view for image in warped for view in (image, image.flip(-1))]
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
