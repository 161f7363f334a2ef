"""Figures for the fundamentals page: one `draw_*` per PNG, fed by fundamentals.py's computations.

Matplotlib is imported (with the Agg backend) only when a figure is drawn.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import LogNorm

from .canvas import figure  # not pyplot: no global figure registry, no backend switch

STYLE = {
    "font.size": 9, "axes.titlesize": 10.5, "axes.labelsize": 9.5, "legend.fontsize": 8,
    "figure.titlesize": 13, "figure.titleweight": "bold", "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.8,
    "savefig.dpi": 120, "savefig.facecolor": "white", "axes.axisbelow": True,
}
# fixed margins (fractions of the figure) instead of a layout engine: constrained/tight layout measure
# every tick label and would double the drawing time
MARGINS = {"left": 0.05, "right": 0.98, "bottom": 0.1, "top": 0.86, "wspace": 0.28, "hspace": 0.45}
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


@contextlib.contextmanager
def _figure(path: Path, title: str, figsize: tuple[float, float], **margins):
    """Yield a figure styled with MARGINS (overridden by `margins`); save it to path on exit."""


    with matplotlib.rc_context(STYLE):
        fig = figure(figsize=figsize)
        fig.subplots_adjust(**{**MARGINS, **margins})
        yield fig
        fig.suptitle(title, y=0.985)
        fig.savefig(path, metadata={"Software": None})


def _f2(v) -> str:
    return f"{float(v):.2f}".replace("-0.00", "0.00")


def _axes0(ax):
    ax.axhline(0, color="k", lw=0.6)
    ax.axvline(0, color="k", lw=0.6)


def draw_activations(path: Path, x: torch.Tensor, acts: dict) -> None:
    with _figure(path, "Activation functions f(x) and their derivatives f'(x) (autograd)",
                     figsize=(15, 6.8), top=0.89, bottom=0.08, hspace=0.35, wspace=0.25) as fig:
        axes = fig.subplots(2, 4).flatten()
        x = x.numpy()
        for ax, (name, (y, dy)) in zip(axes, acts.items()):
            y, dy = y.numpy(), dy.numpy()
            _axes0(ax)
            ax.plot(x, y, color=COLORS[0], label="f(x)")
            ax.plot(x, dy, color=COLORS[1], ls="--", label="f'(x)")
            ax.set(title=name, xlabel="x", ylabel="value", xlim=(-5, 5))
            ax.legend(loc="upper left")


def draw_losses(path: Path, curves: dict, examples: dict, rows: list[dict]) -> None:
    value = {r["loss"]: r["value"] for r in rows}
    xlabel = {"BCE": "predicted probability p", "MSE": "prediction - target", "MAE": "prediction - target",
              "Cross-entropy": "logit z of the true class"}
    with _figure(path, "Loss functions against the prediction (dots: the notebook's examples)",
                     figsize=(16, 4.3), left=0.04, top=0.85, bottom=0.13, wspace=0.2) as fig:
        axes = fig.subplots(1, 4)
        for ax, (name, lines) in zip(axes, curves.items()):
            for i, (label, (xs, ls)) in enumerate(lines.items()):
                ax.plot(xs, ls, color=COLORS[i], label=label)
            pred, target = examples[name]
            if name == "BCE":
                per = F.binary_cross_entropy(pred, target, reduction="none")
                for i, t in enumerate((1.0, 0.0)):
                    m = target == t
                    ax.scatter(pred[m].numpy(), per[m].numpy(), color=COLORS[i], zorder=3, edgecolor="k")
                ax.set_ylim(0, 5)
            elif name == "Cross-entropy":
                # only the first example lies on the curve (its other logits are [1.0, 0.1])
                per = F.cross_entropy(pred[:1], target[:1], reduction="none")
                ax.scatter(pred[:1, 0].numpy(), per.numpy(), color=COLORS[0], zorder=3, edgecolor="k")
            else:
                fn = F.mse_loss if name == "MSE" else F.l1_loss
                ax.scatter((pred - target).numpy(), fn(pred, target, reduction="none").numpy(), color=COLORS[0],
                           zorder=3, edgecolor="k")
            ax.set(title=f"{name} (example mean = {value[name]:.4f})", xlabel=xlabel[name], ylabel="loss")
            ax.legend(loc="upper center")


def draw_optimizers(path: Path, paths: dict, rosenbrock, minimum) -> None:
    gx, gy = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
    gz = rosenbrock(gx, gy)
    levels = np.logspace(-2, 3.5, 23)
    with _figure(path, "Optimisers on the Rosenbrock function (start (-1, 1), dots every 50 steps)",
                 figsize=(16, 9.5), left=0.045, right=0.985, bottom=0.07, top=0.91, wspace=0.25,
                 hspace=0.3) as fig:
        grid = fig.add_gridspec(2, 5, width_ratios=[1, 1, 0.05, 0.08, 0.95])  # column 3: room for the colorbar label
        for i, (name, r) in enumerate(paths.items()):
            ax = fig.add_subplot(grid[i // 2, i % 2])
            cs = ax.contourf(gx, gy, np.clip(gz, levels[0], None), levels=levels, norm=LogNorm(), cmap="Blues_r",
                             alpha=0.85)
            ax.contour(gx, gy, gz, levels=levels[::2], colors="k", linewidths=0.3, alpha=0.4)
            p = r["path"]
            ax.plot(p[:, 0], p[:, 1], color=COLORS[i], lw=1.6)
            ax.plot(p[::50, 0], p[::50, 1], "o", color=COLORS[i], ms=3.5, mec="k", mew=0.4)
            ax.plot(*p[0], "o", color="lime", ms=10, mec="k", label="start", zorder=4)
            ax.plot(*p[-1], "*", color=COLORS[i], ms=16, mec="k", zorder=4,
                    label=f"end ({p[-1, 0]:.2f}, {p[-1, 1]:.2f})")
            ax.plot(*minimum, "^", color="white", ms=10, mec="k", label="minimum (1, 1)", zorder=4)
            ax.set(title=f"{name}: end loss {r['loss'][-1]:.2g}", xlabel="x", ylabel="y", xlim=(-2, 2), ylim=(-1, 3))
            ax.grid(False)
            ax.legend(loc="lower right")
        fig.colorbar(cs, cax=fig.add_subplot(grid[:, 2]), ticks=10.0 ** np.arange(-2, 4),
                     label="f(x, y) (log scale)")
        ax_loss, ax_dist = fig.add_subplot(grid[0, 4]), fig.add_subplot(grid[1, 4])
        for i, (name, r) in enumerate(paths.items()):
            ax_loss.semilogy(r["loss"], color=COLORS[i], label=name)
            ax_dist.semilogy(np.linalg.norm(r["path"] - np.asarray(minimum), axis=1), color=COLORS[i], label=name)
        ax_loss.set(title="loss", xlabel="step", ylabel="f(x, y)")
        ax_dist.set(title="distance to the minimum (1, 1)", xlabel="step", ylabel="distance")
        ax_loss.legend()
        ax_dist.legend()


def draw_init_histograms(path: Path, weights: dict) -> None:
    with _figure(path, "Weight initialisations of a 100x100 Linear layer",
                     figsize=(14, 7), top=0.87, bottom=0.08, hspace=0.5, wspace=0.22) as fig:
        axes = fig.subplots(2, 3).flatten()
        for i, (ax, (name, w)) in enumerate(zip(axes, weights.items())):
            ax.hist(w, bins=60, density=True, color=COLORS[i], alpha=0.8)
            ax.set(title=f"{name}\nmean = {w.mean():.3f}, std = {w.std():.3f}", xlabel="weight value",
                   ylabel="density")


def draw_activation_spread(path: Path, spread: dict) -> None:
    with _figure(path, "Std of the activations after each layer of a 10-layer, 256-wide network",
                 figsize=(13, 4.8), left=0.07, top=0.86, bottom=0.11, wspace=0.18) as fig:
        axes = fig.subplots(1, len(spread))
        for ax, (act, by_init) in zip(axes, spread.items()):
            for i, (name, stds) in enumerate(by_init.items()):
                ax.semilogy(np.arange(1, len(stds) + 1), stds, "o-", color=COLORS[i], ms=4, label=name)
            ax.set(title=f"{act} network", xlabel="layer", ylabel="activation std (log)")
            ax.set_xticks(np.arange(1, len(stds) + 1))
        axes[-1].legend(loc="upper left")


def draw_dropout(path: Path, demo: dict, rates: list[dict]) -> None:
    p = demo["p"]
    train = demo["train"]
    zeroed = float((train == 0).float().mean())
    train_max = float(train.max())
    with _figure(path, f"Dropout (p = {p}) on an all-ones input",
                     figsize=(14, 7), right=0.93, top=0.9, bottom=0.08) as fig:
        ax = fig.subplot_mosaic([["input", "train", "eval"], ["frac", "scale", "mean"]], height_ratios=[0.7, 1])
        for key, title in (("input", "input x"),
                           ("train", f"train mode: {zeroed:.0%} zeroed, survivors = {train_max:.2f} = 1/(1-p)"),
                           ("eval", "eval mode: output == input")):
            im = ax[key].imshow(demo[key].numpy(), cmap="magma", vmin=0, vmax=1 / (1 - p))
            ax[key].set(title=title, xlabel="unit", ylabel="sample")
            ax[key].grid(False)
        fig.colorbar(im, cax=ax["eval"].inset_axes([1.04, 0, 0.04, 1]), label="value")
        ps = np.array([r["p"] for r in rates])
        ax["frac"].plot([0, 1], [0, 1], "k--", lw=1, label="y = p")
        ax["frac"].plot(ps, [r["zero_fraction"] for r in rates], "o", color=COLORS[0], label="measured")
        ax["frac"].set(title="fraction zeroed (train mode)", xlabel="p", ylabel="fraction of units = 0")
        pp = np.linspace(0.05, 0.92, 100)
        ax["scale"].plot(pp, 1 / (1 - pp), "k--", lw=1, label="1/(1-p)")
        ax["scale"].plot(ps, [r["survivor_value"] for r in rates], "o", color=COLORS[1], label="measured")
        ax["scale"].set(title="value of the surviving units", xlabel="p", ylabel="survivor value")
        ax["mean"].axhline(1.0, color="k", ls="--", lw=1, label="input mean")
        ax["mean"].plot(ps, [r["output_mean"] for r in rates], "o", color=COLORS[2], label="measured")
        ax["mean"].set(title="mean output: expectation preserved", xlabel="p", ylabel="mean of dropout(x)",
                       ylim=(0.9, 1.1))
        for k in ("frac", "scale", "mean"):
            ax[k].legend()


def draw_regularization(path: Path, fit: dict, near_zero: float) -> None:
    w_true, fits = fit["w_true"], fit["fits"]
    idx = np.arange(len(w_true))
    with _figure(path, "L1 vs L2 regularisation: linear regression with 5 relevant of 40 features",
                 figsize=(16, 4.6), left=0.04, top=0.86, bottom=0.12, wspace=0.2) as fig:
        ax = fig.subplots(1, 3, width_ratios=[1.6, 1, 1])
        ax[0].bar(idx, w_true, color="0.85", edgecolor="0.5", label="true weight")
        for i, (name, f) in enumerate(fits.items()):
            ax[0].plot(idx + (i - 1) * 0.25, f["weights"], "o", ms=4, color=COLORS[i],
                       label=f"{name} (λ={f['lambda']:g})")
        ax[0].set(title="learned weights", xlabel="feature index", ylabel="weight")
        ax[0].legend(ncol=2)
        floor = 1e-8
        for i, (name, f) in enumerate(fits.items()):
            a = np.sort(np.abs(f["weights"]))[::-1]
            n0 = int((a < near_zero).sum())
            ax[1].semilogy(np.maximum(a, floor), "o-", ms=3, color=COLORS[i],
                           label=f"{name}: {n0} weights < {near_zero:g}")
        ax[1].axhline(near_zero, color="k", ls=":", lw=1)
        ax[1].set(title="|weights| sorted", xlabel="rank", ylabel=f"|w| (log, floored at {floor:g})")
        ax[1].legend()
        w = np.linspace(-2, 2, 401)
        lam = fits["L1"]["lambda"]
        ax[2].plot(w, lam * np.sign(w), color=COLORS[2], label="L1: λ·sign(w)")
        ax[2].plot(w, 2 * lam * w, color=COLORS[1], label="L2: 2λ·w")
        _axes0(ax[2])
        ax[2].set(title=f"gradient of the penalty (λ = {lam:g})", xlabel="w", ylabel="pull toward 0")
        ax[2].legend()


def draw_normalization(path: Path, stats: dict) -> None:
    with _figure(path, "BatchNorm normalises each feature over the batch; LayerNorm each sample over its features",
                 figsize=(14, 8), top=0.9, bottom=0.07, hspace=0.3, wspace=0.15) as fig:
        axes = fig.subplots(2, 2)
        for row, (kind, name, unit, dim) in enumerate((("bn", "BatchNorm1d", "feature", 0),
                                                      ("ln", "LayerNorm", "sample", 1))):
            for col, (t, when) in enumerate(zip(stats[kind], ("before", "after"))):
                data = (t.T if dim == 0 else t).numpy()  # one box per feature (BN) or per sample (LN)
                ax = axes[row, col]
                ax.boxplot(list(data), showmeans=True, widths=0.6,
                           meanprops={"marker": "D", "markerfacecolor": COLORS[3], "markeredgecolor": "k"})
                mean, std = data.mean(1), data.std(1)  # numpy std: the population std, as the layers use
                ax.set(title=f"{name} {when}: {unit} mean in [{_f2(mean.min())}, {_f2(mean.max())}], "
                             f"std in [{_f2(std.min())}, {_f2(std.max())}]",
                       xlabel=unit, ylabel="value")
                ax.set_xticks(np.arange(1, data.shape[0] + 1), [str(i) for i in range(data.shape[0])])


def draw_lr_schedules(path: Path, lrs: dict, val_loss: np.ndarray) -> None:
    with _figure(path, "Learning-rate schedules (torch.optim.lr_scheduler, base lr 0.1)",
                     figsize=(15, 7.5), top=0.9, bottom=0.08, right=0.96, hspace=0.35, wspace=0.3) as fig:
        axes = fig.subplots(2, 3).flatten()
        for i, (ax, (name, lr)) in enumerate(zip(axes, lrs.items())):
            ax.plot(lr, color=COLORS[i], label="learning rate")
            ax.set(title=name, xlabel="epoch", ylabel="learning rate")
            if "Plateau" in name:
                twin = ax.twinx()
                twin.plot(val_loss, color="0.4", ls="--", lw=1, label="synthetic val loss")
                twin.set_ylabel("val loss")
                twin.grid(False)
                twin.spines["right"].set_visible(True)
                lines = ax.get_lines() + twin.get_lines()
                ax.legend(lines, [l.get_label() for l in lines], loc="upper right")
            if "OneCycle" in name:
                k = int(lr.argmax())
                ax.annotate(f"max_lr {lr[k]:.3g} at epoch {k}", (k, lr[k]), xytext=(k + 8, lr[k] * 0.9),
                            arrowprops={"arrowstyle": "->"})


def draw_data_split(path: Path, rows: list[dict]) -> None:
    names = [r["split"] for r in rows]
    total = sum(r["size"] for r in rows)
    with _figure(path, f"Train / validation / test split of {total} samples",
                     figsize=(12, 4.5), left=0.07, top=0.85, bottom=0.12, wspace=0.2) as fig:
        ax = fig.subplots(1, 2)
        c0, c1 = np.array([r["class_0"] for r in rows]), np.array([r["class_1"] for r in rows])
        ax[0].bar(names, c0, color=COLORS[0], label="class 0")
        ax[0].bar(names, c1, bottom=c0, color=COLORS[1], label="class 1")
        for i, r in enumerate(rows):
            ax[0].text(i, r["size"] + total * 0.01, f"{r['size']} ({r['fraction']:.0%})", ha="center")
            ax[0].text(i, r["class_0"] / 2, str(r["class_0"]), ha="center", color="white")
            ax[0].text(i, r["class_0"] + r["class_1"] / 2, str(r["class_1"]), ha="center", color="white")
        ax[0].set(title="split sizes", xlabel="split", ylabel="samples", ylim=(0, max(c0 + c1) * 1.12))
        ax[0].legend()
        frac = [r["class_1_fraction"] for r in rows]
        ax[1].bar(names, frac, color=[COLORS[2], COLORS[4], COLORS[5]])
        ax[1].axhline(c1.sum() / total, color="k", ls="--", lw=1, label=f"whole set {c1.sum() / total:.3f}")
        for i, f in enumerate(frac):
            ax[1].text(i, f - 0.04, f"{f:.3f}", ha="center", color="white", fontweight="bold")
        ax[1].set(title="class balance per split", xlabel="split", ylabel="fraction of class 1", ylim=(0, 0.7))
        ax[1].legend(loc="lower right")
