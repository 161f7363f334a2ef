"""What an image model learned (the notebook's Part 3): computations and their figures.

    feature_maps(model, x (B, C, H, W) model input) -> {conv layer name: output (B, C_out, H', W')}
    conv_pooling_demo() -> the notebook's 3.1 cells as tensors: an 8x8 square, two 3x3 edge filters
        and their F.conv2d outputs (8, 8), a 4x4 grid 1..16 and its 2x2 max / average pools
    confidently_wrong(probs (N, K), y (N,), n) -> indices (<= n,) of the mistakes, most confident first
    display_images(x (B, C, H, W) raw) -> (B, H, W) or (B, H, W, 3) floats in [0, 1] for imshow

The plot_* functions draw one PNG each (Agg backend, closed after saving).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import matplotlib
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from matplotlib.gridspec import GridSpec

from .history import _plt

MAX_MAPS = 64  # feature maps / filters drawn per layer and image: beyond this a grid is unreadable
DPI = 120


@torch.no_grad()
def feature_maps(model: nn.Module, images: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Outputs of every nn.Conv2d of ``model`` for ``images`` (already preprocessed), in the order
    they ran. Forward hooks collect them and are removed afterwards; the model runs in eval mode."""
    maps: Dict[str, torch.Tensor] = {}

    def keep(name):
        # a clone: an in-place activation right after the conv would otherwise overwrite it
        return lambda mod, inp, out: maps.__setitem__(name, out.detach().float().clone().cpu())

    hooks = [m.register_forward_hook(keep(n)) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    model.eval()
    try:
        model(images)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return maps


def conv_layers(model: nn.Module) -> Dict[str, nn.Conv2d]:
    return {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def conv_pooling_demo() -> Dict[str, torch.Tensor]:
    """The notebook's convolution and pooling examples, computed with F.conv2d and pooling."""
    image = torch.zeros(1, 1, 8, 8)
    image[0, 0, 2:6, 2:6] = 1.0  # a white square
    horizontal = torch.tensor([[-1.0, -1, -1], [0, 0, 0], [1, 1, 1]])  # responds to a change down the rows
    vertical = horizontal.t().contiguous()  # ... and across the columns
    grid = torch.arange(1.0, 17.0).view(1, 1, 4, 4)
    return {
        "image": image[0, 0],
        "horizontal_filter": horizontal,
        "vertical_filter": vertical,
        "horizontal": F.conv2d(image, horizontal.view(1, 1, 3, 3), padding=1)[0, 0],
        "vertical": F.conv2d(image, vertical.view(1, 1, 3, 3), padding=1)[0, 0],
        "grid": grid[0, 0],
        "max": F.max_pool2d(grid, 2)[0, 0],
        "avg": F.avg_pool2d(grid, 2)[0, 0],
    }


def confidently_wrong(probs: torch.Tensor, y: torch.Tensor, n: int) -> torch.Tensor:
    conf, pred = probs.max(1)
    wrong = (pred != y).nonzero().flatten()
    return wrong[conf[wrong].argsort(descending=True)][:n]


def display_images(x: torch.Tensor) -> np.ndarray:
    """Raw images -> [0, 1] for imshow: uint8 / 255, float data scaled per image to its range."""
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    else:
        x = x.float()
        lo = x.amin(dim=(1, 2, 3), keepdim=True)
        hi = x.amax(dim=(1, 2, 3), keepdim=True)
        x = (x - lo) / (hi - lo).clamp_min(1e-8)
    if x.shape[1] == 3:
        return x.permute(0, 2, 3, 1).numpy()
    return x.mean(1).numpy()  # one channel (or an unusual count: their mean)


def _show(ax, img: np.ndarray, **kw) -> None:
    if img.ndim == 2:
        kw.setdefault("cmap", "gray")
        kw.setdefault("vmin", 0.0)
        kw.setdefault("vmax", 1.0)
    ax.imshow(img, interpolation="nearest", **kw)
    ax.set_xticks([])
    ax.set_yticks([])


def _grid(n: int, max_cols: int = 8):
    cols = min(n, max_cols)
    return max(1, math.ceil(n / cols)), max(cols, 1)


def mosaic(tiles: torch.Tensor, cols: int, gap_x: int, gap_y: int) -> np.ndarray:
    """(K, h, w[, 3]) -> one (rows*(h+gap_y), cols*(w+gap_x)-gap_x[, 3]) array, NaN between tiles (drawn
    blank) and a gap_y band above each row for labels: one imshow instead of K axes draws fast."""
    k, h, w = tiles.shape[:3]
    rows = math.ceil(k / cols)
    out = np.full((rows * (h + gap_y), cols * (w + gap_x) - gap_x, *tiles.shape[3:]), np.nan, dtype=np.float32)
    for j in range(k):
        r, c = divmod(j, cols)
        out[r * (h + gap_y) + gap_y:(r + 1) * (h + gap_y), c * (w + gap_x):c * (w + gap_x) + w] = tiles[j].numpy()
    return out


def _weight_tiles(w: torch.Tensor, ids: Sequence[int], label: str, cap: int):
    """(O, I, h, w) weights -> (tiles (K, h, w[, 3]), their labels, rgb?). Three input channels are
    one colour image per filter (each scaled to its own range: the colour is the pattern it matches);
    any other count one signed tile per (filter, channel)."""
    w = w.detach().float().cpu()
    o, i = w.shape[:2]
    if i == 3:
        flat = w.flatten(1)
        lo, hi = flat.amin(1).view(-1, 1, 1, 1), flat.amax(1).view(-1, 1, 1, 1)
        rgb = ((w - lo) / (hi - lo).clamp_min(1e-8)).permute(0, 2, 3, 1)[:cap]
        return rgb, [f"{label} {ids[k]}" for k in range(len(rgb))], True
    names = [f"{label} {ids[k]}" + (f" ch{c}" if i > 1 else "") for k in range(o) for c in range(i)]
    return w.flatten(0, 1)[:cap], names[:cap], False


def plot_weight_grid(w: torch.Tensor, out: Path, title: str, label: str = "filter", cap: int = MAX_MAPS,
                     order: Optional[Sequence[int]] = None) -> int:
    """A grid of weight images (conv filters, or an MLP's first-layer units reshaped to the input),
    in ``order`` if given, signed ones on one shared red-blue scale; returns how many tiles it drew."""
    plt = _plt()

    ids = list(order) if order is not None else list(range(w.shape[0]))
    tiles, names, rgb = _weight_tiles(w[ids], ids, label, cap)
    k, h, wd = tiles.shape[:3]
    cols = min(k, 8)
    rows = math.ceil(k / cols)
    gap_x, gap_y = max(1, round(0.15 * wd)), max(1, round(0.5 * h))
    tile_in = 1.2 if h <= 8 else 1.35
    grid_w, grid_h = tile_in * cols, tile_in * rows * (h + gap_y) / (wd + gap_x)
    fig, ax = plt.subplots(figsize=(grid_w + (1.3 if not rgb else 0.4), grid_h + 0.8))
    if rgb:
        ax.imshow(np.nan_to_num(mosaic(tiles, cols, gap_x, gap_y), nan=1.0), interpolation="nearest")
    else:
        vmax = float(tiles.abs().max()) or 1.0
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
        im = ax.imshow(mosaic(tiles, cols, gap_x, gap_y), cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
        cbar = fig.colorbar(im, ax=ax, fraction=0.025, pad=0.02)
        cbar.ax.set_title("weight", fontsize=8)
    for j, name in enumerate(names):
        r, c = divmod(j, cols)
        ax.text(c * (wd + gap_x) + (wd - 1) / 2, r * (h + gap_y) + gap_y - 0.6, name, ha="center", va="bottom",
                fontsize=7, color="0.2")
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return k


def strongest_channels(maps: torch.Tensor, cap: int = MAX_MAPS) -> torch.Tensor:
    """Indices (ascending) of the ``cap`` channels with the largest mean |activation| over the batch."""
    if maps.shape[1] <= cap:
        return torch.arange(maps.shape[1])
    score = maps.abs().mean(dim=(0, 2, 3))
    return score.argsort(descending=True)[:cap].sort().values


def plot_feature_maps(name: str, maps: torch.Tensor, images: np.ndarray, labels: List[str], out: Path,
                      conv: nn.Conv2d, cap: int = MAX_MAPS) -> int:
    """One row per image: the input, then one tile per channel of this layer's output (all of them
    up to ``cap``, else the most active), numbered by channel. Returns the maps drawn per image."""
    plt = _plt()

    b, c, h, w = maps.shape
    chans = strongest_channels(maps, cap)
    k = len(chans)
    cols = min(k, 16)
    rows = math.ceil(k / cols)
    gap_x, gap_y = max(1, round(0.12 * w)), max(1, round(0.45 * h))  # room above each tile for its number
    tile_in = 0.6  # inches per tile (with its gaps)
    grid_w, grid_h = tile_in * cols, tile_in * rows * (h + gap_y) / (w + gap_x)
    img_w = min(grid_h, 2.2)
    fig_w, fig_h = img_w + grid_w + 0.5, b * (grid_h + 0.25) + 0.7
    fig, axes = plt.subplots(b, 2, figsize=(fig_w, fig_h), squeeze=False,
                             gridspec_kw={"width_ratios": [img_w, grid_w], "wspace": 0.04, "hspace": 0.1})
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
    for i in range(b):
        _show(axes[i][0], images[i])
        axes[i][0].set_ylabel(labels[i], fontsize=8)
        m = maps[i, chans]
        lo, hi = float(m.min()), float(m.max())  # one scale per image: bright = strong response
        ax = axes[i][1]
        ax.imshow(mosaic(m, cols, gap_x, gap_y), cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1,
                  interpolation="nearest", aspect="equal")
        for j, ch in enumerate(chans.tolist()):
            r, cc = divmod(j, cols)
            ax.text(cc * (w + gap_x) + (w - 1) / 2, r * (h + gap_y) + gap_y - 0.6, str(ch), ha="center", va="bottom",
                    fontsize=6, color="0.25")
        ax.axis("off")
    shown = f"all {c} channels" if k == c else f"the {k} most active of {c} channels"
    fig.suptitle(f"Feature maps of {name} (conv {conv.in_channels}->{conv.out_channels}, "
                 f"{conv.kernel_size[0]}x{conv.kernel_size[1]}; output {h}x{w}): {shown}", fontsize=10)
    fig.subplots_adjust(left=0.03, right=0.99, bottom=0.01, top=1 - 0.5 / fig_h)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return k


def _annotate(ax, a: np.ndarray, scale: float, size: int = 8) -> None:
    """Write each value in its cell, white where the colour (on +-scale) is dark."""
    for (r, c), v in np.ndenumerate(a):
        ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=size,
                color="white" if abs(v) > 0.55 * scale else "black")


def plot_conv_pooling_demo(demo: Dict[str, torch.Tensor], out: Path, real: Optional[torch.Tensor] = None,
                           real_label: str = "") -> None:
    """Top row: the square, each edge filter and what it finds. Bottom row: the same filters on a
    test image (if given), then the 4x4 example and its max / average pools."""
    plt = _plt()

    fig = plt.figure(figsize=(18, 7.6))
    gs = GridSpec(2, 30, figure=fig, hspace=0.3, wspace=0.6)
    signed = dict(cmap="RdBu_r", vmin=-3, vmax=3)
    top = [("image", "8x8 image: a white square", dict(cmap="gray", vmin=0, vmax=1)),
           ("horizontal_filter", "horizontal-edge filter", signed),
           ("horizontal", "conv2d(image, filter):\nhorizontal edges", signed),
           ("vertical_filter", "vertical-edge filter", signed),
           ("vertical", "conv2d(image, filter):\nvertical edges", signed)]
    for i, (key, title, kw) in enumerate(top):
        ax = fig.add_subplot(gs[0, 6 * i:6 * i + 5])
        a = demo[key].numpy()
        ax.imshow(a, interpolation="nearest", **kw)
        if key != "image":
            _annotate(ax, a, 3.0, 8 if a.shape[0] > 3 else 11)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    bottom = [fig.add_subplot(gs[1, 5 * i:5 * i + 4]) for i in range(6)]
    if real is not None:
        img = real.float().view(1, 1, *real.shape[-2:])
        edges = [F.conv2d(img, demo[f].view(1, 1, 3, 3), padding=1)[0, 0]
                 for f in ("horizontal_filter", "vertical_filter")]
        lim = max(float(e.abs().max()) for e in edges) or 1.0
        bottom[0].imshow(img[0, 0].numpy(), cmap="gray", interpolation="nearest")
        bottom[0].set_title("a test image" + (f" ({real_label})" if real_label else ""), fontsize=10)
        for ax, e, name in zip(bottom[1:3], edges, ("horizontal", "vertical")):
            ax.imshow(e.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_title(f"its {name} edges\n(same filter)", fontsize=10)
    else:
        for ax in bottom[:3]:
            ax.axis("off")
    pools = [("grid", "4x4 feature map", ".0f"), ("max", "max pool 2x2, stride 2", ".0f"),
             ("avg", "average pool 2x2, stride 2", ".1f")]
    for ax, (key, title, fmt) in zip(bottom[3:], pools):
        a = demo[key].numpy()
        ax.imshow(a, cmap="viridis", vmin=1, vmax=16, interpolation="nearest")
        for (r, c), v in np.ndenumerate(a):
            ax.text(c, r, format(v, fmt), ha="center", va="center", fontsize=12, color="white" if v < 11 else "black")
        ax.set_title(title, fontsize=10)
    for ax in bottom:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Convolution finds edges, pooling shrinks the map (the notebook's 3.1); "
                 "red = positive response, blue = negative", fontsize=12)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.88, bottom=0.03)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def plot_confidently_wrong(images: np.ndarray, true: List[str], pred: List[str], conf: Sequence[float], out: Path,
                           total_wrong: int, total: int) -> None:
    plt = _plt()
    n = len(images)
    rows, cols = _grid(n, 4)
    fig, axes = plt.subplots(rows, cols, figsize=(2.5 * cols, 2.75 * rows + 0.6), squeeze=False)
    for ax, img, t, p, c in zip(axes.flat, images, true, pred, conf):
        _show(ax, img)
        ax.set_title(f"true: {t}\npredicted: {p} ({100 * c:.1f}%)", fontsize=9, color="firebrick")
    for ax in axes.flat[n:]:
        ax.axis("off")
    fig.suptitle(f"The {n} most confident mistakes ({total_wrong} of {total} test images are wrong)", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
