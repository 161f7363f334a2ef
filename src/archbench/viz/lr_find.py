"""The learning-rate range test's figure: loss against a log-scale learning rate, with the suggestion."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict

import numpy as np

from .canvas import plt  # Figure objects: the user's backend is left alone


def plot_lr_find(result: Dict[str, Any], path: Path, title: str) -> None:
    lrs, sm = result["lrs"], result["smoothed"]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=130)
    ax.plot(lrs, result["losses"], color="0.75", lw=0.8, label="loss per batch")
    ax.plot(lrs, sm, color="C0", lw=2, label="smoothed loss")
    ax.set_xscale("log")
    lo, hi = min(sm), max(sm[: max(2, sm.index(min(sm)) + 1)])
    ax.set_ylim(lo - 0.1 * (hi - lo + 1e-9), hi + 0.35 * (hi - lo + 1e-9))
    sug = result["suggestion"]
    y_sug = float(np.interp(math.log10(sug), np.log10(lrs), sm))
    ax.axvline(sug, color="C3", ls="--", lw=1)
    ax.plot([sug], [y_sug], "o", color="C3", ms=7, zorder=3)
    ax.annotate(f"suggested lr {sug:.2g}", (sug, y_sug), xytext=(12, 18), textcoords="offset points", color="C3",
                fontsize=10, arrowprops=dict(arrowstyle="->", color="C3"))
    ax.axvline(result["min_lr"], color="0.4", ls=":", lw=1, label=f"minimum at lr {result['min_lr']:.2g}")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(title, fontsize=11)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
