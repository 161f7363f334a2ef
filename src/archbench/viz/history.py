"""Training-history and confusion-matrix figures (the notebook's plot_training_history and
plot_confusion_matrix), drawn on Agg canvases (the user's backend is left alone)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from .canvas import plt  # Figure objects on an Agg canvas: the user's backend is left alone


def _plt():
    return plt


def plot_history(history: List[Dict], out: Path, title: str = "", kept_epoch: Optional[int] = None,
                 label_smoothing: float = 0.0) -> List[str]:
    """Loss, accuracy (classification) and learning rate per epoch. ``kept_epoch`` (1-based) is the epoch
    whose weights the run kept; without it, the epoch of lowest validation loss is marked. Returns the
    loss panel's legend entries."""
    plt = _plt()
    epochs = [r["epoch"] for r in history]
    has_acc = "val_acc" in history[0]
    fig, axes = plt.subplots(1, 3 if has_acc else 2, figsize=(15 if has_acc else 10, 4.2))
    ax = axes[0]
    # with label smoothing the training loss is measured against the smoothed targets and cannot fall
    # near 0, while validation loss is against the true labels: say so, or the gap reads as a bug
    train_label = f"train (targets smoothed by {label_smoothing:g})" if label_smoothing else "train"
    ax.plot(epochs, [r["train_loss"] for r in history], "o-", ms=3, label=train_label)
    ax.plot(epochs, [r["val_loss"] for r in history], "o-", ms=3, label="validation")
    if kept_epoch is None:
        kept_epoch = epochs[int(np.argmin([r["val_loss"] for r in history]))]
        marker = f"lowest val loss (epoch {kept_epoch})"
    else:
        marker = f"weights kept (epoch {kept_epoch})"
    ax.axvline(kept_epoch, color="0.6", ls="--", lw=1, label=marker)
    ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    legend = [t.get_text() for t in ax.legend().get_texts()]
    if has_acc:
        ax = axes[1]
        ax.plot(epochs, [100 * r["train_acc"] for r in history], "o-", ms=3, label="train")
        ax.plot(epochs, [100 * r["val_acc"] for r in history], "o-", ms=3, label="validation")
        if "test_acc" in history[0]:
            ax.plot(epochs, [100 * r["test_acc"] for r in history], "o-", ms=3, label="test")
        ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
        ax.legend()
    else:
        axes[0].set_yscale("log")
    ax = axes[-1]
    ax.plot(epochs, [r["lr"] for r in history], "o-", ms=3, color="tab:purple")
    ax.set(xlabel="epoch", ylabel="learning rate (end of epoch)", title="Learning rate")
    for a in axes:
        a.grid(alpha=0.3)
        # epochs are whole; min_n_ticks=1 keeps that for a 1-epoch run (one integer in view)
        a.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return legend


def confusion_matrix(targets, predictions, n: int) -> np.ndarray:
    t = np.asarray(targets, dtype=np.int64)
    p = np.asarray(predictions, dtype=np.int64)
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def plot_confusion(targets, predictions, class_names: Sequence[str], out: Path) -> np.ndarray:
    plt = _plt()
    n = len(class_names)
    cm = confusion_matrix(targets, predictions, n)
    size = max(4.5, 0.55 * n + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), class_names, rotation=45 if n > 5 else 0, ha="right" if n > 5 else "center")
    ax.set_yticks(range(n), class_names)
    ax.set(xlabel="predicted", ylabel="true", title=f"Confusion matrix ({cm.trace() / max(cm.sum(), 1):.2%} correct)")
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true class")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return cm
