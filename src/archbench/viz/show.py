"""`archbench show DATA`: what a data set's examples look like (the notebook's 2.1 sample grid, for
every data kind), also drawn on each run's page.

    images     x (N, C, H, W) uint8/float  -> a grid of n images, each titled with its class
    text       x (N, T) int64 token ids    -> each example decoded to words, with its class
    sequence   x (N, T[, F]) float         -> one small plot per example (a line per feature), its class
    forecast   x (N, T[, F]) window, y (N, H) targets -> the window and the values to forecast after it

Examples are drawn from the training split with a seeded permutation (never test data). A new data
kind (tables, say: the first rows and a histogram per column) adds one drawing function to PREVIEWS.
Figures are matplotlib.figure.Figure objects on the Agg canvas (no pyplot, no global backend).

    preview_figure(bundle, n=16, seed=0) -> (Figure, [text lines])
    write_preview(bundle, out_dir, n=16, seed=0) -> figures.json entry (data_preview.png, data_preview.md)
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..data.base import DataBundle
from ..errors import UsageError
from ..files import atomic_write, atomic_write_text

PREVIEW_FILE = "data_preview.png"
TEXT_FILE = "data_preview.md"
MAX_WORDS = 40  # a decoded text beyond this is cut with "..."


def _label(bundle: DataBundle, y) -> str:
    if bundle.task == "regression":
        return ""
    i = int(y)
    return bundle.class_names[i] if 0 <= i < len(bundle.class_names) else str(i)


def _grid(n: int, max_cols: int) -> Tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def _images(bundle: DataBundle, x: torch.Tensor, y: torch.Tensor) -> Tuple[Figure, List[str]]:
    """x (n, C, H, W) -> a labelled grid; grey for one channel, RGB for three."""
    rows, cols = _grid(len(x), 8)
    fig = Figure(figsize=(1.4 * cols, 1.6 * rows + 0.4))
    img = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    for i in range(len(x)):
        ax = fig.add_subplot(rows, cols, i + 1)
        pic = img[i]
        if pic.shape[0] == 1:
            ax.imshow(pic[0].numpy(), cmap="gray")
        else:  # float images may be normalised: rescale each to [0, 1] for display only
            p = pic[:3].permute(1, 2, 0)
            p = (p - p.min()) / (p.max() - p.min()).clamp_min(1e-8)
            ax.imshow(p.numpy())
        ax.set_title(_label(bundle, y[i]), fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{bundle.name}: {len(x)} training examples with their labels", fontsize=10)
    return fig, []


def _decode(bundle: DataBundle, ids: torch.Tensor) -> str:
    vocab = bundle.extras.get("vocab")
    ids = [int(i) for i in ids if int(i) != 0]  # 0 is padding
    words = vocab.decode(ids) if vocab is not None else [str(i) for i in ids]
    cut = words[:MAX_WORDS]
    return " ".join(cut) + (" ..." if len(words) > MAX_WORDS else "")


def _text(bundle: DataBundle, x: torch.Tensor, y: torch.Tensor) -> Tuple[Figure, List[str]]:
    """x (n, T) token ids -> one line of decoded words per example (the figure shows them too)."""
    lines = [f"[{_label(bundle, y[i])}] {_decode(bundle, x[i])}" for i in range(len(x))]
    fig = Figure(figsize=(11, 0.42 * len(lines) + 0.8))
    ax = fig.add_subplot(1, 1, 1)
    ax.axis("off")
    for i, line in enumerate(lines):
        short = line if len(line) <= 130 else line[:127] + "..."
        ax.text(0.0, 1 - (i + 0.5) / len(lines), short, fontsize=8, family="monospace", va="center",
                transform=ax.transAxes)
    fig.suptitle(f"{bundle.name}: {len(x)} training texts, decoded from their token ids", fontsize=10)
    return fig, lines


def _series(bundle: DataBundle, x: torch.Tensor, y: torch.Tensor) -> Tuple[Figure, List[str]]:
    """x (n, T[, F]) -> one small plot per example; forecasts add the H target values after the window."""
    n = min(len(x), 12)
    rows, cols = _grid(n, 4)
    fig = Figure(figsize=(3.2 * cols, 2.2 * rows + 0.5))
    forecast = bundle.task == "regression"
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        s = x[i].float()
        s = s[:, None] if s.dim() == 1 else s.flatten(1)  # (T, F)
        t = torch.arange(1, s.shape[0] + 1)
        for f in range(min(s.shape[1], 4)):
            ax.plot(t.numpy(), s[:, f].numpy(), lw=1.0)
        if forecast:
            target = y[i].float().flatten()
            ax.plot(torch.arange(s.shape[0] + 1, s.shape[0] + 1 + len(target)).numpy(), target.numpy(),
                    lw=1.4, color="#c44e52", label="to forecast")
            ax.axvline(s.shape[0] + 0.5, color="grey", lw=0.6, ls="--")
        else:
            ax.set_title(_label(bundle, y[i]), fontsize=8)
        ax.tick_params(labelsize=6)
    what = "windows and the values to forecast (red)" if forecast else "series with their labels"
    fig.suptitle(f"{bundle.name}: {n} training {what}", fontsize=10)
    fig.tight_layout()
    return fig, []


PREVIEWS: Dict[str, Callable[[DataBundle, torch.Tensor, torch.Tensor], Tuple[Figure, List[str]]]] = {
    "image": _images, "text": _text, "sequence": _series, "forecast": _series,
}


def preview_figure(bundle: DataBundle, n: int = 16, seed: int = 0) -> Tuple[Figure, List[str]]:
    """n seeded training examples of ``bundle`` drawn by its kind; text kinds also return the lines."""
    draw = PREVIEWS.get(bundle.kind)
    if draw is None:
        raise UsageError(f"no preview for {bundle.kind} data yet; previews exist for: {', '.join(PREVIEWS)}")
    if n < 1:
        raise UsageError(f"the preview needs at least one example, got {n}")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(bundle.train), generator=g)[:n]
    x, y = bundle.train.x[idx], bundle.train.y[idx]
    return draw(bundle, x, y)


def write_preview(bundle: DataBundle, out_dir, n: int = 16, seed: int = 0) -> Dict[str, str]:
    """Write data_preview.png (and data_preview.md for text) into ``out_dir``; returns its figure entry."""
    out = Path(out_dir)
    fig, lines = preview_figure(bundle, n=n, seed=seed)
    FigureCanvasAgg(fig)  # the Agg canvas, whatever matplotlib's default backend
    atomic_write(out / PREVIEW_FILE, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    if lines:
        atomic_write_text(out / TEXT_FILE, "# Training examples, decoded\n\n" + "\n".join(f"- {ln}" for ln in lines) + "\n")
    return {"file": PREVIEW_FILE, "title": "The data",
            "caption": f"{len(bundle.train.x[:n])} training examples of {bundle.name} as the model sees them "
                       "(drawn with a fixed seed from the training split), with their labels."}
