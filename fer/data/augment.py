"""Per-image random augmentation applied to whole batches at once.

torchvision.transforms.v2 draws one set of random parameters per call, so on a batch every
face would get the same rotation, crop and flip (pytorch/vision#8484). These modules draw
parameters per image and apply them in one vectorised op (affine_grid / grid_sample,
gather, masks), so augmenting a batch costs about as much as one image. They take and return
float batches [B, C, H, W] in [0, 1] and compose with ``torchvision.transforms.v2.Compose``.
``ProgressiveResize`` is not random: it shrinks a training batch by the epoch (``resize=`` group).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fer.errors import ConfigError

log = logging.getLogger(__name__)


def _uniform(n: int, low: float, high: float, like: Tensor) -> Tensor:
    return torch.empty(n, device=like.device, dtype=torch.float32).uniform_(low, high)


def _chance(n: int, p: float, like: Tensor) -> Tensor:
    return torch.rand(n, device=like.device) < p


class RandomHorizontalFlip(nn.Module):
    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        flip = _chance(len(x), self.p, x).view(-1, 1, 1, 1)
        return torch.where(flip, x.flip(-1), x)


class RandomAffine(nn.Module):
    """Rotation (degrees), shear (fraction, as Keras' shear_range), zoom and shift, per image.

    ``fill='border'`` repeats edge pixels (Keras' ``fill_mode='nearest'``), ``'zeros'`` pads black,
    ``'reflection'`` mirrors. The ranges are symmetric, so sampling the inverse map directly
    gives the same distribution as the forward one.
    """

    def __init__(self, degrees: float = 0.0, translate: float = 0.0, scale: Sequence[float] = (1.0, 1.0),
                 shear: float = 0.0, fill: str = "border", p: float = 1.0) -> None:
        super().__init__()
        self.degrees, self.translate, self.scale, self.shear, self.fill, self.p = \
            degrees, translate, tuple(scale), shear, fill, p

    def forward(self, x: Tensor) -> Tensor:
        n = len(x)
        angle = _uniform(n, -self.degrees, self.degrees, x)
        zoom = _uniform(n, *self.scale, x)
        shear = _uniform(n, -self.shear, self.shear, x)
        shift = _uniform(2 * n, -self.translate, self.translate, x).view(n, 2)
        keep = ~_chance(n, self.p, x)
        angle[keep], zoom[keep], shear[keep], shift[keep] = 0.0, 1.0, 0.0, 0.0
        return affine(x, angle, zoom, shear, shift, self.fill)


def affine(x: Tensor, degrees: Tensor | float = 0.0, zoom: Tensor | float = 1.0, shear: Tensor | float = 0.0,
           shift: Tensor | float = 0.0, fill: str = "border") -> Tensor:
    """Rotate, zoom, shear and shift a batch about each image's centre, per image ([B] or [B, 2] tensors) or
    all alike (numbers): the one warp that training augmentation, ``eval.py shift=`` and TTA views share.

    ``shift`` is a fraction of the image's width / height; zoom > 1 enlarges the face.
    """
    def per_image(value: Tensor | float, *shape: int) -> Tensor:
        return torch.as_tensor(value, dtype=torch.float32, device=x.device).expand(len(x), *shape)

    angle, zoom, shear = torch.deg2rad(per_image(degrees)), per_image(zoom), per_image(shear)
    shift = per_image(shift, 2) * 2  # grid units span 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([
        torch.stack([cos, -sin + shear * cos, shift[:, 0]], 1),
        torch.stack([sin, cos + shear * sin, shift[:, 1]], 1),
    ], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=fill, align_corners=False)


class RandomCrop(nn.Module):
    """Random crop of the original size from the image padded by ``padding`` pixels on each side."""

    def __init__(self, padding: int = 4, fill: str = "constant") -> None:
        super().__init__()
        self.padding, self.fill = padding, fill

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        pad = self.padding
        padded = F.pad(x, (pad, pad, pad, pad), mode=self.fill)
        top = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device)
        left = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device)
        rows = (top + torch.arange(h, device=x.device)).view(n, 1, h, 1)
        cols = (left + torch.arange(w, device=x.device)).view(n, 1, 1, w)
        batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
        channel = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
        return padded[batch, channel, rows, cols]


class RandomBrightness(nn.Module):
    """Multiply each image by a factor in [1 - amount, 1 + amount] (Keras' brightness_range)."""

    def __init__(self, amount: float = 0.2, p: float = 1.0) -> None:
        super().__init__()
        self.amount, self.p = amount, p

    def forward(self, x: Tensor) -> Tensor:
        factor = _uniform(len(x), 1 - self.amount, 1 + self.amount, x)
        factor = torch.where(_chance(len(x), self.p, x), factor, torch.ones_like(factor))
        return (x * factor.view(-1, 1, 1, 1).to(x.dtype)).clamp_(0, 1)


class RandomErasing(nn.Module):
    """Blank one random rectangle per image (Zhong et al., 2020) with probability ``p``."""

    def __init__(self, p: float = 0.5, scale: Sequence[float] = (0.02, 0.25), ratio: Sequence[float] = (0.3, 3.3),
                 value: float = 0.0) -> None:
        super().__init__()
        self.p, self.scale, self.ratio, self.value = p, tuple(scale), tuple(ratio), value

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        area = _uniform(n, *self.scale, x) * h * w
        ratio = torch.exp(_uniform(n, math.log(self.ratio[0]), math.log(self.ratio[1]), x))
        eh = torch.sqrt(area * ratio).clamp(1, h).round()
        ew = torch.sqrt(area / ratio).clamp(1, w).round()
        top = (torch.rand(n, device=x.device) * (h - eh + 1)).floor()
        left = (torch.rand(n, device=x.device) * (w - ew + 1)).floor()
        ys = torch.arange(h, device=x.device).view(1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, w)
        inside = ((ys >= top.view(n, 1, 1)) & (ys < (top + eh).view(n, 1, 1))
                  & (xs >= left.view(n, 1, 1)) & (xs < (left + ew).view(n, 1, 1)))
        inside &= _chance(n, self.p, x).view(n, 1, 1)
        return x.masked_fill(inside.unsqueeze(1), self.value)


class RandomGaussianBlur(nn.Module):
    """Gaussian blur with its own sigma per image, applied with probability ``p``.

    Faces cut from small, soft or compressed photos reach the net enlarged and blurred; every model
    trained without this lost 4-5 points under ``eval.py shift=blur`` (docs/RESULTS.md). One
    separable depthwise convolution blurs the whole batch; edges repeat their border pixels.
    """

    def __init__(self, sigma: Sequence[float] = (0.1, 1.5), p: float = 0.5) -> None:
        super().__init__()
        low, high = sigma
        if not 0 < low <= high:
            raise ConfigError(f"RandomGaussianBlur: sigma must be a range 0 < low <= high, got {list(sigma)}")
        self.sigma, self.p = (float(low), float(high)), p
        self.radius = math.ceil(3 * high)  # the kernel holds 99.7% of the widest Gaussian

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        r = self.radius
        offsets = torch.arange(-r, r + 1, device=x.device, dtype=torch.float32)
        kernel = torch.exp(-0.5 * (offsets / _uniform(n, *self.sigma, x).view(n, 1)) ** 2)
        kernel = torch.where(_chance(n, self.p, x).view(n, 1), kernel, (offsets == 0).float())
        kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0).to(x.dtype)
        planes = F.pad(x.reshape(1, n * c, h, w), (r, r, r, r), mode="replicate")
        planes = F.conv2d(planes, kernel.view(n * c, 1, 2 * r + 1, 1), groups=n * c)
        planes = F.conv2d(planes, kernel.view(n * c, 1, 1, 2 * r + 1), groups=n * c)
        return planes.view(n, c, h, w)


class ProgressiveResize:
    """Training faces grow from ``start_size`` to full size over the first ``ramp`` of the epochs.

    A CNN step costs about the square of the side, so an epoch at 32x32 costs under half of one at
    48x48 (progressive resizing: fast.ai; Tan & Le, EfficientNetV2, 2021). Sizes are multiples of
    ``multiple`` (16 keeps whole pixels through four 2x2 pools); the remaining epochs train at full
    size, so validation, test and export see the size the net is used at. The size depends on the
    epoch alone, so a resumed run continues exactly.
    """

    def __init__(self, start_size: int = 32, ramp: float = 0.5, multiple: int = 16) -> None:
        if not 0 < ramp <= 1:
            raise ConfigError(f"data.resize.ramp={ramp}: expected the share of the epochs to grow over, in (0, 1]")
        if multiple < 1 or start_size < multiple or start_size % multiple:
            raise ConfigError(f"data.resize.start_size={start_size}, data.resize.multiple={multiple}: "
                              "expected a start_size that is a multiple of multiple (>= 1)")
        self.start_size, self.ramp, self.multiple = start_size, ramp, multiple
        self._size: int | None = None

    def size(self, epoch: int, epochs: int | None, full: int) -> int:
        """The side of the training faces in ``epoch`` (from 0) of ``epochs``."""
        if not epochs or epochs < 1:
            raise ConfigError("resize=progressive needs trainer.max_epochs: its ramp is a share of the epochs")
        ramp_epochs = round(self.ramp * epochs)
        if self.start_size >= full or epoch >= ramp_epochs:
            return full
        side = self.start_size + (full - self.start_size) * epoch / ramp_epochs
        return int(side // self.multiple * self.multiple)

    def __call__(self, images: Tensor, epoch: int, epochs: int | None) -> Tensor:
        size = self.size(epoch, epochs, images.shape[-1])
        if size != self._size:
            log.info("progressive resizing: training on %dx%d faces from epoch %d", size, size, epoch + 1)
            self._size = size
        if size == images.shape[-1]:
            return images
        return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
