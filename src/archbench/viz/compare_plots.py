"""Comparison figures: the notebook's four panels (with the spread over seeds), cost against
accuracy, and accuracy against a swept setting (Exercise 5.1)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from ..files import safe_name
from .canvas import plt  # Figure objects on an Agg canvas: the user's backend is left alone


def _plt():
    return plt


def read_history(path: Path) -> Dict[str, np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) if r[k] not in ("", None) else np.nan for r in rows]) for k in rows[0]}


def _band(ax, curves: List[np.ndarray], label: str, color, scale: float = 1.0):
    n = min(len(c) for c in curves)  # early-stopped seeds end sooner: draw the common part
    arr = np.stack([c[:n] for c in curves]) * scale
    x = np.arange(1, n + 1)
    mean = arr.mean(0)
    # markers while the points are few: a 1-epoch curve is one point, which a bare line never draws
    ax.plot(x, mean, "o-" if n <= 30 else "-", ms=4, lw=1.8, color=color, label=label)
    if len(curves) > 1:
        ax.fill_between(x, arr.min(0), arr.max(0), color=color, alpha=0.18, lw=0)


def plot_comparison(out: Path, rows: List[Dict[str, Any]], plan) -> List[Dict[str, str]]:
    plt = _plt()
    figures = []
    for data in dict.fromkeys(r["data"] for r in rows):
        rs = [r for r in rows if r["data"] == data and (plan.sweep_key is None or r[plan.sweep_key] == plan.sweep_values[-1])]
        models = list(dict.fromkeys(r["model"] for r in rs))
        colors = plt.cm.tab10(np.linspace(0, 1, 10))
        # baselines (bow) have no epochs: they appear in the parameters panel only
        hist = {m: [read_history(out / r["run_dir"] / "history.csv") for r in rs if r["model"] == m]
                for m in models if (out / next(r for r in rs if r["model"] == m)["run_dir"] / "history.csv").exists()}
        classification = all("test_accuracy" in r for r in rs)
        fig, axes = plt.subplots(2, 2, figsize=(13, 9))
        for i, m in enumerate(models):
            if m not in hist:
                continue
            c = colors[i % 10]
            _band(axes[0, 0], [h["train_loss"] for h in hist[m]], m, c)
            _band(axes[0, 1], [h["val_loss"] for h in hist[m]], m, c)
            key = "val_acc" if classification else "val_mae"
            _band(axes[1, 0], [h[key] for h in hist[m]], m, c, 100 if classification else 1)
        axes[0, 0].set(title="Training loss", xlabel="epoch", ylabel="loss", yscale="log")
        axes[0, 1].set(title="Validation loss", xlabel="epoch", ylabel="loss", yscale="log")
        axes[1, 0].set(title="Validation accuracy" if classification else "Validation MAE", xlabel="epoch",
                       ylabel="accuracy (%)" if classification else "MAE (scaled)")
        ax = axes[1, 1]
        metric = "test_accuracy" if classification else "test_mae"
        for i, m in enumerate(models):
            vals = np.array([r[metric] for r in rs if r["model"] == m]) * (100 if classification else 1)
            params = next(r["params"] for r in rs if r["model"] == m)
            ax.errorbar(params, vals.mean(), yerr=vals.std(ddof=1) if len(vals) > 1 else None, fmt="o", ms=9,
                        capsize=4, color=colors[i % 10], label=m)
            ax.annotate(m, (params, vals.mean()), textcoords="offset points", xytext=(6, 6), fontsize=9)
        counts = [r["params"] for r in rs]
        wide = max(counts) / max(min(counts), 1) >= 10  # log scale only where it spreads the points
        ax.set(title="Parameters vs performance", xlabel="parameters", xscale="log" if wide else "linear",
               ylabel="test accuracy (%)" if classification else "test MAE")

        for a in axes.flat:
            a.grid(alpha=0.3)
        for a in (axes[0, 0], axes[0, 1], axes[1, 0]):
            # min_n_ticks=1: a 1-epoch axis holds one integer, and the default (2) fell back to 0.96, 0.98, ...
            a.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.margins(x=0.25, y=0.15)
        axes[0, 0].legend(fontsize=9)
        n_seeds = len(plan.seeds)
        fig.suptitle(f"{data}: {len(models)} models" + (f", {n_seeds} seeds (line = mean, band = min-max)" if n_seeds > 1 else ""))
        fig.tight_layout()
        name = f"comparison_{safe_name(data)}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        figures.append({"file": name, "title": f"Training curves and parameters vs accuracy ({data})",
                        "caption": "Top: training and validation loss; bottom left: validation accuracy per epoch; "
                                   "bottom right: each model's size against its test accuracy (error bars: std over "
                                   "seeds). A model up and to the left is accurate for its size."})
    return figures


def plot_costs(out: Path, summary: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    pts = [s for s in summary if "test_accuracy" in s and "flops_per_sample" in s]
    if not pts:
        return []
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for s in pts:
        label = f"{s['model']} ({s['data']})" if len({p['data'] for p in pts}) > 1 else s["model"]
        acc, err = 100 * s["test_accuracy"], 100 * s.get("test_accuracy_std", 0)
        for ax, key in zip(axes, ("flops_per_sample", "latency_ms_b1")):
            if key in s and s[key]:
                ax.errorbar(s[key], acc, yerr=err or None, fmt="o", ms=8, capsize=4)
                ax.annotate(label, (s[key], acc), textcoords="offset points", xytext=(5, 5), fontsize=9)

    for a in axes:
        a.xaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
        a.margins(x=0.2, y=0.15)
    axes[0].set(xscale="log", xlabel="forward FLOPs per sample (torch.utils.flop_counter)", ylabel="test accuracy (%)",
                title="Compute vs accuracy")
    axes[1].set(xscale="log", xlabel="inference latency at batch 1 (ms, median)", ylabel="test accuracy (%)",
                title="Latency vs accuracy")
    for a in axes:
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "cost.png", dpi=110)
    plt.close(fig)
    return [{"file": "cost.png", "title": "What each model costs",
             "caption": "Accuracy against compute per sample and against single-example latency. The models worth "
                        "choosing sit on the upper-left frontier; anything below and to the right of another model "
                        "costs more for less."}]


def plot_sweep(out: Path, rows: List[Dict[str, Any]], key: str) -> List[Dict[str, str]]:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    classification = all("test_accuracy" in r for r in rows)
    metric = "test_accuracy" if classification else "test_mae"
    draws = key == "data_seed"  # repeats on new draws of the data, not a setting that grows
    for data in dict.fromkeys(r["data"] for r in rows):
        for m in dict.fromkeys(r["model"] for r in rows if r["data"] == data):
            rs = [r for r in rows if r["model"] == m and r["data"] == data]
            xs = list(dict.fromkeys(r[key] for r in rs))
            vals = [np.array([r[metric] for r in rs if r[key] == x]) * (100 if classification else 1) for x in xs]
            bars = ax.errorbar([str(x) for x in xs], [v.mean() for v in vals],
                               yerr=[v.std(ddof=1) if len(v) > 1 else 0 for v in vals], marker="o", capsize=4, label=m)
            if draws:  # the model's mean over the draws, the number in the table
                ax.axhline(np.concatenate(vals).mean(), color=bars[0].get_color(), ls="--", lw=0.9, alpha=0.7)
    what = "accuracy" if classification else "MAE"
    title = "Each draw of the data (dashed: mean over the draws)" if draws else f"Test {what} against {key}"
    ax.set(xlabel=key, ylabel="test accuracy (%)" if classification else "test MAE", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    name = f"sweep_{safe_name(key)}.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    if draws:
        caption = ("Each model on each draw of the data (new examples and a new split per data_seed); the table "
                   "gives the dashed means. Where two lines cross, those models differ by less than the spread "
                   "between draws.")
    elif key == "seq_len":
        caption = (f"Test {what} of each model as {key} grows. A line that falls "
                   "away is a model that cannot carry information over that distance (the vanishing gradient, for "
                   "a plain RNN).")
    else:
        caption = (f"Test {what} of each model for each value of {key} (mean ± "
                   "std over seeds where there are several).")
    return [{"file": name, "title": f"Sweep over {key}", "caption": caption}]


def human(v: float) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"
