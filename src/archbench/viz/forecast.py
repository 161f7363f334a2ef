"""Forecast against what happened: the held-out tail of a series, the model's forecasts and the
naive baselines, all in the series' own units.

Inputs are per forecast window, origins one step apart (as the forecast loaders cut them):
    targets   (N, H)  what happened at t, t+1, ..., t+H-1 for each origin t
    forecasts (N, H)  the model's forecasts for the same steps
    baselines {name: (N, H)}  e.g. "seasonal naive", "naive"

The top panel shows every window's first step (the one-step-ahead forecast) along the tail; for
H > 1 a second panel shows the whole horizon of a few windows that do not overlap, which is where
a forecaster that only copies the last value gives itself away.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from ..data.timeseries import naive_forecast, seasonal_naive_forecast, unscale
from .history import _plt

STYLE = {"seasonal naive": dict(color="tab:orange", ls="--"), "naive": dict(color="0.55", ls=":")}


def _np(a) -> np.ndarray:
    a = a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1)


def _rmse(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - target) ** 2)))


def plot_forecast(targets, forecasts, baselines: Mapping[str, object], horizon: int, out,
                  times: Optional[Sequence[str]] = None, model: str = "model", data: str = "",
                  ylabel: str = "value", max_windows: int = 4) -> Tuple[Path, Dict[str, str]]:
    """Draw the held-out tail and return (PNG path, its figures.json entry {file, title, caption}).

    ``times``: labels of the N + H - 1 target steps (first origin to the last target), or None
    for step numbers. RMSEs in the legend are over every step of every window.
    """
    plt = _plt()
    y, f = _np(targets), _np(forecasts)
    base = {k: _np(v) for k, v in baselines.items()}
    n, h = y.shape
    if h != int(horizon) or f.shape != y.shape or any(b.shape != y.shape for b in base.values()):
        raise ValueError(f"targets {y.shape}, forecasts {f.shape} and baselines must all be (N, horizon={horizon})")
    actual = np.concatenate([y[:, 0], y[-1, 1:]])  # origins are consecutive: the tail, once
    steps = np.arange(len(actual))
    scores = {model: _rmse(f, y), **{k: _rmse(b, y) for k, b in base.items()}}

    panels = 2 if h > 1 else 1
    fig, axes = plt.subplots(panels, 1, figsize=(11, 3.8 * panels), squeeze=False)
    ax = axes[0, 0]
    ax.plot(steps, actual, color="black", lw=2, label="actual")
    ax.plot(steps[:n], f[:, 0], color="tab:blue", lw=1.6, marker="o", ms=3,
            label=f"{model} (RMSE {scores[model]:.4g})")
    for k, b in base.items():
        ax.plot(steps[:n], b[:, 0], lw=1.3, label=f"{k} (RMSE {scores[k]:.4g})", **STYLE.get(k, {}))
    ax.set(title="One step ahead: each window's first forecast" if h > 1 else "One-step-ahead forecasts",
           ylabel=ylabel)
    if h > 1:
        ax = axes[1, 0]
        ax.plot(steps, actual, color="black", lw=2, label="actual")
        starts = np.arange(0, n, h)  # windows that do not overlap
        if len(starts) > max_windows:
            starts = starts[np.linspace(0, len(starts) - 1, max_windows).round().astype(int)]
        for j, s in enumerate(starts):
            span = steps[s:s + h]
            ax.axvline(span[0] - 0.5, color="0.5", lw=0.8, ls=":")  # the forecast origin
            ax.plot(span, f[s], color="tab:blue", lw=1.8, marker="o", ms=3, label=model if j == 0 else None)
            for k, b in base.items():
                if k == "naive":  # a flat line per window: the top panel already shows it
                    continue
                ax.plot(span, b[s], lw=1.3, label=k if j == 0 else None, **STYLE.get(k, {}))
        ax.set(title=f"Whole {h}-step horizons of {len(starts)} windows (dotted lines: forecast origins)",
               ylabel=ylabel)
    for a in axes[:, 0]:
        a.grid(alpha=0.3)
        a.legend(loc="best", fontsize=8)
        if times is not None and len(times) == len(actual):
            ticks = steps[:: max(1, len(steps) // 10)]
            a.set_xticks(ticks, [str(times[i]) for i in ticks], rotation=30 if len(str(times[0])) > 4 else 0)
            a.set_xlabel("time")
        else:
            a.set_xlabel("step of the held-out tail")
    fig.suptitle(f"Forecast vs actual{' on ' + data if data else ''} (held-out test tail)")
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=120)
    plt.close(fig)

    # the benchmark is the seasonal-naive forecast where there is one, else the best baseline given
    best_base = "seasonal naive" if "seasonal naive" in base else min(base, key=scores.get) if base else None
    caption = (f"Black is what happened in the held-out tail, blue the {model}'s forecasts. Over all {h} steps "
               f"of {n} windows its RMSE is {scores[model]:.4g}")
    if best_base is not None:
        caption += (f" against {scores[best_base]:.4g} for the {best_base} forecast, so it "
                    f"{'beats' if scores[model] < scores[best_base] else 'does not beat'} that baseline")
    caption += (". Top: the first step of every window. Bottom: whole horizons of a few windows; watch "
                "whether the blue line turns with the cycle or only shifts the last value." if h > 1 else ".")
    return out, {"file": out.name, "title": "Forecast vs actual (test)", "caption": caption}


def forecast_figure(bundle, outputs: torch.Tensor, out_dir, split: str = "test",
                    model: str = "model") -> Dict[str, str]:
    """``forecast.png`` in ``out_dir`` for a forecast bundle and the model's scaled outputs on
    ``split`` (as the training loop returns them); returns its figures.json entry."""

    def units(v):
        return unscale(v, bundle, split)

    y = units(getattr(bundle, split).y)
    base = {"naive": units(naive_forecast(bundle, split))}
    if int(bundle.extras.get("season") or 1) > 1:  # without a season it is the naive forecast again
        base = {"seasonal naive": units(seasonal_naive_forecast(bundle, split)), **base}
    t = bundle.extras["origins"][split]
    times = bundle.extras.get("times")
    labels = None
    if times is not None and len(t):
        labels = list(times[int(t[0]): int(t[-1]) + bundle.num_classes])
    _, entry = plot_forecast(y, units(outputs), base, bundle.num_classes, Path(out_dir) / "forecast.png",
                             times=labels, model=model, data=bundle.name)
    return entry


__all__ = ["plot_forecast", "forecast_figure"]
