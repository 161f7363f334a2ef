"""Data augmentation on whole batches, on any device (the notebook's 3.3, vectorised).

Every function takes a float batch x (B, C, H, W) -- the output of ``DataBundle.preprocess``, i.e.
already normalised on the device -- and returns a new batch of the same shape; randomness comes from an
explicit ``torch.Generator`` (CPU or the batch's device), so a seed fixes every crop and flip. Running
after preprocess keeps the uint8 cache untouched and lets the GPU do the work; fills that must look
like "background" therefore use the image's own values (reflect/replicate padding, per-image minimum)
rather than a constant 0, which after normalisation would be the data set's mean colour.

    x = bundle.preprocess(split.x[idx].to(device))
    x = get_augment("basic", "natural")(x, generator)       # crop + flip
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from ..errors import UsageError

AUGMENTS = ("none", "basic", "strong")
Augment = Callable[[torch.Tensor, Optional[torch.Generator]], torch.Tensor]


def _rand(n: int, generator: Optional[torch.Generator], device) -> torch.Tensor:
    """n uniform numbers in [0, 1) drawn on the generator's device, moved to ``device``."""
    gdev = generator.device if generator is not None else "cpu"
    return torch.rand(n, generator=generator, device=gdev).to(device)


def random_crop_flip(x: torch.Tensor, pad: int = 4, generator: Optional[torch.Generator] = None,
                     mode: str = "reflect", flip: bool = True) -> torch.Tensor:
    """Random (H, W) crop of the image padded by ``pad`` on every side, then a horizontal flip with p=0.5.

    One gather does both: rows dy + i, columns dx + j (or dx + W-1-j when flipped), per sample.
    mode: "reflect", "replicate" or "zeros".
    """
    b, c, h, w = x.shape
    if pad > 0:
        xp = F.pad(x, (pad, pad, pad, pad), mode="constant" if mode == "zeros" else mode)
    else:
        xp = x
    dy = (_rand(b, generator, x.device) * (2 * pad + 1)).long()
    dx = (_rand(b, generator, x.device) * (2 * pad + 1)).long()
    flipped = _rand(b, generator, x.device) < 0.5 if flip else torch.zeros(b, dtype=torch.bool, device=x.device)
    i = torch.arange(h, device=x.device)
    j = torch.arange(w, device=x.device)
    rows = (dy[:, None] + i).view(b, 1, h, 1)
    cols = torch.where(flipped[:, None], dx[:, None] + (w - 1 - j), dx[:, None] + j).view(b, 1, 1, w)
    bi = torch.arange(b, device=x.device).view(b, 1, 1, 1)
    ci = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return xp[bi, ci, rows, cols]


def cutout(x: torch.Tensor, size: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Zero (= the mean colour, after normalisation) one size x size square per image, centre anywhere."""
    b, _, h, w = x.shape
    cy = (_rand(b, generator, x.device) * h).long().view(b, 1, 1, 1)
    cx = (_rand(b, generator, x.device) * w).long().view(b, 1, 1, 1)
    ys = torch.arange(h, device=x.device).view(1, 1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, 1, w)
    lo = size // 2
    hole = (ys >= cy - lo) & (ys < cy - lo + size) & (xs >= cx - lo) & (xs < cx - lo + size)
    return x.masked_fill(hole, 0.0)


def _homographies(b: int, h: int, w: int, degrees: float, translate: float, perspective: float,
                  p_perspective: float, generator, device) -> torch.Tensor:
    """(B, 3, 3) maps from output to input coordinates (normalised, [-1, 1]) for grid_sample."""
    r = _rand(b * 12, generator, device).view(12, b)  # every random number of the batch in one draw
    angle = (r[0] * 2 - 1) * math.radians(degrees)
    tx, ty = (r[1] * 2 - 1) * 2 * translate, (r[2] * 2 - 1) * 2 * translate  # a fraction f of a side = 2f
    # rotation about the centre in pixel units (so non-square images are not sheared), then translation
    cos, sin = torch.cos(angle), torch.sin(angle)
    ar = w / h
    a = torch.zeros(b, 3, 3, device=device)
    a[:, 0, 0], a[:, 0, 1], a[:, 0, 2] = cos, -sin / ar, tx
    a[:, 1, 0], a[:, 1, 1], a[:, 1, 2] = sin * ar, cos, ty
    a[:, 2, 2] = 1.0
    # perspective as torchvision's RandomPerspective: each corner moves inward by up to `perspective`
    # of the half side; solve the 4-point homography from the moved corners back to the originals
    corners = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]], device=device)
    on = (r[3] < p_perspective).float().view(b, 1, 1)
    moved = corners - corners.sign() * perspective * r[4:].t().reshape(b, 4, 2) * on
    p = _solve_homography(moved, corners.expand(b, 4, 2))
    return p @ torch.linalg.inv(a)  # output -> undo affine -> undo perspective -> input


def _solve_homography(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) H with H @ [src, 1] ~ [dst, 1] for 4 point pairs (B, 4, 2), batched 8x8 solves."""
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], -1)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], -1)
    m = torch.cat([rows_u, rows_v], 1)  # (B, 8, 8)
    rhs = torch.cat([u, v], 1).unsqueeze(-1)  # (B, 8, 1)
    hvec = torch.linalg.solve(m, rhs).squeeze(-1)
    return torch.cat([hvec, torch.ones_like(hvec[:, :1])], 1).view(-1, 3, 3)


def random_affine(x: torch.Tensor, degrees: float = 15.0, translate: float = 0.1, perspective: float = 0.2,
                  generator: Optional[torch.Generator] = None, p_perspective: float = 0.5,
                  fill: Optional[float] = None) -> torch.Tensor:
    """Rotation (+-degrees), translation (+-translate of each side) and, with p=0.5, a perspective warp.

    The notebook's RandomRotation(15) + RandomAffine(translate=0.1) + RandomPerspective(0.2), batched
    through one homography per sample and F.grid_sample (bilinear). Uncovered pixels take ``fill``,
    default each image's per-channel minimum (the black background of a digit, after normalisation).
    """
    b, c, h, w = x.shape
    xf = x.float()
    hom = _homographies(b, h, w, degrees, translate, perspective, p_perspective, generator, xf.device)
    ys = (torch.arange(h, device=xf.device, dtype=torch.float32) * 2 + 1) / h - 1  # align_corners=False
    xs = (torch.arange(w, device=xf.device, dtype=torch.float32) * 2 + 1) / w - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([gx, gy, torch.ones_like(gx)], -1).view(1, h * w, 3)
    src = pts @ hom.transpose(1, 2)  # (B, HW, 3)
    grid = (src[..., :2] / src[..., 2:].clamp_min(1e-6)).view(b, h, w, 2)
    base = xf.amin(dim=(2, 3), keepdim=True) if fill is None else torch.full_like(xf[:, :, :1, :1], fill)
    out = F.grid_sample(xf - base, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + base
    return out.to(x.dtype)


def get_augment(name: str, kind_hint: str = "auto") -> Optional[Augment]:
    """The augmentation called ``name`` ("none" | "basic" | "strong") as fn(x, generator) -> x, or None.

    kind_hint: "digits" (never flipped: a mirrored 2 is not a 2), "natural" (photos), or "auto" (decided
    per batch: 1 channel -> digits, else natural).
      basic:  natural -> pad-4 reflect crop + flip (the CIFAR recipe); digits -> shifts of ~10% of the side
      strong: basic + cutout of half the side (natural) | + rotation/translation/perspective (digits)
    """
    if name not in AUGMENTS:
        raise UsageError(f"unknown augmentation {name!r}; choose from: {', '.join(AUGMENTS)}")
    if kind_hint not in ("auto", "digits", "natural"):
        raise UsageError(f"unknown kind_hint {kind_hint!r}; choose from: auto, digits, natural")
    if name == "none":
        return None

    def augment(x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        digits = kind_hint == "digits" or (kind_hint == "auto" and x.shape[1] == 1)
        h = x.shape[-2]
        if digits:
            x = random_crop_flip(x, pad=max(1, h // 10), generator=generator, mode="replicate", flip=False)
            if name == "strong":
                x = random_affine(x, 15.0, 0.1, 0.2, generator=generator)
        else:
            x = random_crop_flip(x, pad=max(1, h // 8), generator=generator, mode="reflect", flip=True)
            if name == "strong":
                x = cutout(x, max(1, h // 2), generator=generator)
        return x

    augment.__name__ = f"augment_{name}"
    return augment

