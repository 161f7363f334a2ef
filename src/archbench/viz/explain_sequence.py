"""What a sequence model attends to (the notebook's Parts 6-7): figures of attention and positions.

    plot_attention_layer     weights (B, heads, T, T) of one self-attention layer: a heat map per
                             example (row) and head (column), plus the mean over heads
    plot_attention_pooling   weights (B, T) of attention pooling: how much each time step counts,
                             over the input itself
    plot_positional_encoding pe (L, d): the sinusoidal table, a few of its columns, and the
                             similarity of positions (which depends only on their distance)

Each example is cropped to its own length (``lengths``), so padding is never drawn; ``tokens`` (one
list of strings per example, for text) label the axes when they are short enough to read.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from .history import _plt

DPI = 120
MAX_TICKS = 40  # beyond this many steps, token labels overlap: number the axes instead


def _ticks(ax, labels: Optional[Sequence[str]], n: int, offset: int, x: bool = True, y: bool = True) -> None:
    """Token labels when there are few enough to read, else integer time steps (``offset`` leading
    positions, a CLS token, are labelled "CLS" and the steps after it count from 0)."""

    axes = ([ax.xaxis] if x else []) + ([ax.yaxis] if y else [])
    for axis in axes:
        if labels is not None and n <= MAX_TICKS:
            axis.set_ticks(range(n), labels[:n], fontsize=6, rotation=90 if axis is ax.xaxis else 0)
        else:
            axis.set_major_locator(MaxNLocator(nbins=6, integer=True))
            axis.set_major_formatter(FuncFormatter(lambda v, _: "CLS" if offset and v == 0 else f"{int(v) - offset}"))
            axis.set_tick_params(labelsize=7)
    if not y:
        ax.set_yticklabels([])


def plot_attention_layer(name: str, weights: torch.Tensor, lengths: Sequence[int], row_titles: List[str],
                         out: Path, tokens: Optional[List[List[str]]] = None, offset: int = 0) -> None:
    """weights (B, heads, L, L); lengths: the real L of each example; offset 1 when position 0 is a CLS token."""
    plt = _plt()
    b, heads = weights.shape[:2]
    cols = heads + (1 if heads > 1 else 0)
    tile = 3.1 if tokens is not None and max(lengths) <= MAX_TICKS else 2.6
    fig, axes = plt.subplots(b, cols, figsize=(tile * cols + 1.2, tile * b + 0.6), squeeze=False, layout="constrained")
    for i in range(b):
        n = int(lengths[i])
        w = weights[i, :, :n, :n].float()
        panels = [(w[h], f"head {h + 1}") for h in range(heads)]
        if heads > 1:
            panels.append((w.mean(0), "mean of heads"))
        vmax = float(max(p.max() for p, _ in panels))
        for j, (p, title) in enumerate(panels):
            ax = axes[i][j]
            im = ax.imshow(p.numpy(), cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
            _ticks(ax, tokens[i] if tokens is not None else None, n, offset, y=j == 0)
            if i == 0:
                ax.set_title(title, fontsize=10)
            if i == b - 1:
                ax.set_xlabel("key (attended to)", fontsize=8)
            if j == 0:
                ax.set_ylabel(row_titles[i].replace(": ", "\n", 1).replace(", ", "\n", 1) + "\nquery", fontsize=8)
        fig.colorbar(im, ax=list(axes[i]), fraction=0.02, pad=0.01, label="weight")
    fig.suptitle(f"Self-attention weights of {name}: each row of a map sums to 1 over the keys", fontsize=11)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def plot_attention_pooling(name: str, weights: torch.Tensor, lengths: Sequence[int], row_titles: List[str],
                           out: Path, tokens: Optional[List[List[str]]] = None,
                           inputs: Optional[torch.Tensor] = None) -> None:
    """weights (B, T); inputs (B, T, F) for numeric sequences, drawn behind the bars."""
    plt = _plt()
    b = weights.shape[0]
    longest = max(lengths)
    width = min(16.0, max(8.0, 0.22 * longest + 2)) if tokens is not None else 12.0
    fig, axes = plt.subplots(b, 1, figsize=(width, 2.3 * b + 0.8 + (0.5 * b if tokens is not None else 0)),
                             squeeze=False)

    handles = []
    for i in range(b):
        ax = axes[i][0]
        n = int(lengths[i])
        w = weights[i, :n].float().numpy()
        bars = ax.bar(np.arange(n), w, color="tab:orange", alpha=0.8, width=0.85, label="attention weight")
        uniform = ax.axhline(1.0 / n, color="0.3", ls="--", lw=1, label="uniform weight (1/steps)")
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylabel("weight", fontsize=8)
        ax.set_title(row_titles[i], fontsize=9, loc="left")
        if tokens is not None and n <= 80:
            ax.set_xticks(range(n), tokens[i][:n], rotation=90, fontsize=7)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("time step", fontsize=8)
        handles = [bars, uniform]
        if inputs is not None:
            tw = ax.twinx()
            x = inputs[i, :n].float().numpy()
            for f in range(min(x.shape[-1], 4)):
                line, = tw.plot(np.arange(n), x[:, f], "o-", ms=2.5, color="tab:blue", lw=1,
                                alpha=0.8 if f == 0 else 0.45, label="input value(s)")
            handles.append(line)
            tw.set_ylabel("input value", fontsize=8, color="tab:blue")
            tw.tick_params(axis="y", labelsize=7, colors="tab:blue")
        ax.grid(alpha=0.25, axis="y")
    fig.legend(handles=handles, loc="upper right", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"Attention pooling ({name}): the weight of each time step in the summary the classifier reads",
                 fontsize=11, x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.25 / fig.get_figheight()))
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def pick_dims(d: int) -> List[int]:
    """A few columns from fast (low index) to slow (high index) frequencies, sine and cosine."""
    dims = [0, 1, 2 * (d // 16), 2 * (d // 8) + 1, 2 * (d // 4)]
    return sorted({k for k in dims if 0 <= k < d})


def plot_positional_encoding(pe: torch.Tensor, out: Path, note: str = "") -> None:
    plt = _plt()

    length, d = pe.shape
    pe = pe.float()
    fig, axes = plt.subplots(1, 3, figsize=(18, 5.2), gridspec_kw={"width_ratios": [1.25, 1.25, 1]})
    ax = axes[0]
    im = ax.imshow(pe.numpy(), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set(xlabel="dimension", ylabel="position", title=f"PE matrix ({length} positions x {d} dimensions)")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax = axes[1]
    for k in pick_dims(d):
        kind = "sin" if k % 2 == 0 else "cos"
        wavelength = 2 * np.pi * 10000 ** ((k - k % 2) / d)
        ax.plot(np.arange(length), pe[:, k].numpy(), "o-" if length <= 64 else "-", ms=3, lw=1.4,
                label=f"dim {k} ({kind}, wavelength {wavelength:.3g})")
    ax.set(xlabel="position", ylabel="value", title="A few dimensions: each is a wave of its own wavelength",
           ylim=(-1.15, 1.6))
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    ax.grid(alpha=0.3)
    ax = axes[2]
    unit = pe / pe.norm(dim=1, keepdim=True).clamp_min(1e-8)
    im = ax.imshow((unit @ unit.t()).numpy(), cmap="viridis", interpolation="nearest")
    ax.set(xlabel="position", ylabel="position", title="Cosine similarity of positions")
    fig.colorbar(im, ax=ax, fraction=0.046)
    for a in axes:
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].yaxis.set_major_locator(MultipleLocator(0.5))
    fig.suptitle("Sinusoidal positional encoding: PE[p, 2i] = sin(p / 10000^(2i/d)), "
                 "PE[p, 2i+1] = cos(p / 10000^(2i/d))" + (f"  --  {note}" if note else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
