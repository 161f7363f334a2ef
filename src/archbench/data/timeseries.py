"""Real time series: forecasting (sunspots, co2, airline, any CSV column) and UCR/UEA classification.

Forecasting (kind "forecast", task "regression")
    x (N, window, 1) float32   the ``window`` values before a forecast origin t
    y (N, horizon)   float32   the ``horizon`` values from t on
    Both are scaled with the mean/std of the TRAINING part of the series only.
    With ``residual`` "naive" or "seasonal" (the default of the named sets) the model forecasts
    a correction: y is the series minus the naive (last value) or seasonal-naive forecast, and x
    is the window minus its last value, so the network never has to extrapolate a level it has
    not seen (see forecast_bundle). Errors, and so MAE/RMSE, are the same in either form.

    The series is cut in time order into  train | val | test  (``test_size``, ``val_size``: steps,
    or a fraction of the series when < 1). A sample belongs to the part that holds ALL its targets,
    so no train or validation target lies in the test tail; inputs may look back across the cut, as
    a forecaster at that origin could. ``extras``: "scaler" (mean, std), "season", "series" (the
    whole series in original units, float64), "times" (its time labels), "origins"
    {split: LongTensor of t} and "offset" {split: (N, horizon) what was subtracted from y}, which
    the naive baselines, ``unscale`` and the forecast plots use.

UCR/UEA classification (kind "sequence")
    x (N, T, C) float32, z-normalised per channel with training statistics; unequal lengths are
    right-padded with zeros (after normalising) and ``extras["lengths"][split]`` holds the true ones;
    missing values ('?') become 0, the channel mean. y (N,) int64, labels in sorted order.
    ``extras["channel_stats"]`` = (mean per channel, std per channel) that were applied.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from ..errors import DataError, UsageError
from . import register_dataset
from .base import DataBundle, Split
from .series_own import add_exogenous

# ---------------------------------------------------------------- reading a CSV column

# name -> (file under DIR/timeseries/forecasting, column, defaults: window, horizon, test_size, val_size,
# season, residual). window and residual were chosen by backtesting on blocks BEFORE the test tail
# (sunspots: three 33-year blocks 1866-1964; airline: 1957-58), never on the test tail itself:
# - sunspots: the 11-year cycle drifts (9-14 years), so copying the last cycle errs by its phase
#   and amplitude; one cycle of input relative to its last value, correcting the naive forecast,
#   beat the seasonal-naive forecast in 2 of 3 blocks (the old level-space window of 33 lost all
#   three: 33 inputs overfit 189 windows).
# - airline, co2: a trend the training years never reach; correcting the seasonal-naive forecast
#   cuts its error (co2 chosen on its validation part; docs/measurements.md, 'Recipe evidence').
FORECAST_SETS = {
    "sunspots": ("sunspots.csv", "SUNACTIVITY", dict(window=11, horizon=11, test_size=44, val_size=33, season=11,
                                                     residual="naive")),
    "co2": ("co2.csv", "co2", dict(window=104, horizon=52, test_size=260, val_size=156, season=52,
                                   residual="seasonal")),
    "airline": ("Airline.csv", "Passengers", dict(window=24, horizon=12, test_size=24, val_size=24, season=12,
                                                  residual="seasonal")),
}


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def read_csv_column(path, column=None) -> Tuple[np.ndarray, List[str]]:
    """One numeric column of a CSV -> (values float64, time labels from the first column).

    ``column`` is a header name (case-insensitive), an index (negative counts from the end), or
    None for the last column. Empty and non-numeric cells ('NA', ...) are filled by linear
    interpolation between their neighbours.
    """
    path = Path(path).expanduser()
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8 CSV") from None
    except csv.Error as e:
        raise DataError(f"{path}: not a CSV file ({e})") from None
    if not rows:
        raise DataError(f"{path} is empty")
    # a header row has a word where the next row has a number ("Date,Passengers" over "1949-01,112")
    header = None
    if len(rows) > 1 and any(not _is_number(a) and _is_number(b) for a, b in zip(rows[0], rows[1])):
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    width = len(rows[0]) if rows else 0
    if column is None or column == "":
        idx = width - 1
    elif header is not None and str(column).lower() in [h.lower() for h in header]:
        idx = [h.lower() for h in header].index(str(column).lower())
    elif re.fullmatch(r"-?\d+", str(column)) and -width <= int(column) < width:
        idx = int(column) % width
    else:
        names = f"; columns: {', '.join(header)}" if header else f"; it has {width} columns"
        raise DataError(f"{path} has no column {column!r}{names}")
    cells = [r[idx].strip() if idx < len(r) else "" for r in rows]
    values = np.array([float(c) if _is_number(c) else np.nan for c in cells], dtype=np.float64)
    ok = np.isfinite(values)
    if ok.sum() < 2:
        raise DataError(f"column {column!r} of {path} has fewer than 2 numbers")
    if not ok.all():
        t = np.arange(len(values))
        values[~ok] = np.interp(t[~ok], t[ok], values[ok])
    times = [r[0].strip() for r in rows] if width > 1 and idx != 0 else [str(i) for i in range(len(rows))]
    return values, times


def _steps(size, n: int, what: str) -> int:
    steps = int(round(size * n)) if 0 < size < 1 else int(size)
    if steps < 1:
        raise UsageError(f"{what} must be a positive number of steps or a fraction in (0, 1), got {size}")
    return steps


# ---------------------------------------------------------------- windowing

RESIDUALS = ("none", "naive", "seasonal")


def _season_back(horizon: int, m: int) -> torch.Tensor:
    """(horizon,) steps back from t + h to the latest value a whole number of seasons earlier that
    is already observed at origin t: m for h < m, 2m for m <= h < 2m, ..."""
    h = torch.arange(horizon)
    return m * ((h + m) // m)


def base_forecast(scaled: torch.Tensor, t: torch.Tensor, horizon: int, how: str,
                  season: Optional[int] = None) -> torch.Tensor:
    """(N, horizon) naive ("naive": the last value) or seasonal-naive forecast from origins t,
    read off the whole (scaled) series; "seasonal" without a season > 1 is the naive one."""
    m = int(season or 1)
    if how == "naive" or m <= 1:
        return scaled[t - 1][:, None].expand(-1, horizon).clone()
    idx = t[:, None] + torch.arange(horizon) - _season_back(horizon, m)
    if idx.numel() and int(idx.min()) < 0:
        raise UsageError(f"season {m} reaches before the start of the series for the first origin {int(t.min())}")
    return scaled[idx]


def forecast_bundle(name: str, series: np.ndarray, times: Optional[List[str]] = None, *, window: int,
                    horizon: int, test_size, val_size, season: Optional[int] = None,
                    residual: str = "none") -> DataBundle:
    """Cut a 1-D series into train | val | test parts and (window -> horizon) samples of each.

    ``residual`` "naive" or "seasonal": the target is what the naive (last value) or seasonal-naive
    forecast gets wrong, ``y - base``, and the input window is relative to its last value,
    ``x - x[-1]`` (per-window location normalisation, as in DeepAR/RevIN). The network learns a
    correction to a sound forecast, and since it never sees the level, a trend that leaves the
    training range (airline) needs no extrapolation and what it learns at one level of the series
    applies at another. Errors are unchanged by the shift, so MAE/RMSE computed on ``y`` are those
    of the series. ``extras["offset"][split]`` (N, horizon) is what was subtracted from each target
    (zeros for "none"): ``y + offset`` is the scaled series.
    """
    series = np.asarray(series, dtype=np.float64)
    n = len(series)
    window, horizon = int(window), int(horizon)
    if residual not in RESIDUALS:
        raise UsageError(f"residual must be one of {', '.join(RESIDUALS)}, got {residual!r}")
    if window < 1 or horizon < 1:
        raise UsageError(f"window and horizon must be at least 1, got window={window}, horizon={horizon}")
    n_test, n_val = _steps(test_size, n, "test_size"), _steps(val_size, n, "val_size")
    val_start, test_start = n - n_test - n_val, n - n_test
    # the seasonal residual reads one season back from the first origin, which the window may not reach
    first = max(window, int(season or 1)) if residual == "seasonal" else window
    # each part needs one full horizon; train also needs one full window before its first origin
    if min(n_test, n_val) < horizon or val_start < first + horizon:
        raise UsageError(
            f"series {name!r} has {n} steps: too short for window={window}, horizon={horizon}, "
            f"val_size={n_val}, test_size={n_test} (need val and test >= horizon and train >= {first + horizon} steps)")
    mean = float(series[:val_start].mean())
    std = float(series[:val_start].std()) or 1.0
    scaled = torch.from_numpy((series - mean) / std).float()

    # origin t: input scaled[t - window : t], target scaled[t : t + horizon]; the part a sample
    # belongs to must hold all of its targets
    bounds = {"train": (first, val_start), "val": (val_start, test_start), "test": (test_start, n)}
    splits, origins, offsets = {}, {}, {}
    for s, (lo, hi) in bounds.items():
        t = torch.arange(max(lo, first), hi - horizon + 1)
        x = scaled[t[:, None] + torch.arange(-window, 0)]
        y = scaled[t[:, None] + torch.arange(horizon)]
        offset = torch.zeros_like(y)
        if residual != "none":
            offset = base_forecast(scaled, t, horizon, residual, season)
            x, y = x - x[:, -1:], y - offset
        splits[s] = Split(x.unsqueeze(-1).contiguous(), y.contiguous())
        origins[s], offsets[s] = t, offset
    return DataBundle(
        name=name, kind="forecast", task="regression", train=splits["train"], val=splits["val"],
        test=splits["test"], input_shape=(window, 1), num_classes=horizon,
        extras={"scaler": (mean, std), "season": season, "series": series,
                "times": list(times) if times is not None else [str(i) for i in range(n)],
                "origins": origins, "offset": offsets, "residual": residual, "cuts": (val_start, test_start)},
    )


def _split_path_column(arg: str) -> Tuple[str, Optional[str]]:
    """'data.csv:col' -> ('data.csv', 'col'); '"C:/x.csv":2' -> ('C:/x.csv', '2'); 'data.csv' -> (.., None)."""
    if arg[:1] in "\"'":
        end = arg.find(arg[0], 1)
        if end < 0:
            raise UsageError(f"unbalanced quote in csv:{arg}")
        rest = arg[end + 1:]
        if rest and not rest.startswith(":"):
            raise UsageError(f"expected csv:\"PATH\":COLUMN, got csv:{arg}")
        return arg[1:end], rest[1:] or None
    if Path(arg).expanduser().is_file():  # a path with no column
        return arg, None
    path, sep, column = arg.rpartition(":")
    return (path, column or None) if sep else (arg, None)


@register_dataset("csv:", "forecast", "forecast one column of a CSV file: csv:PATH:COLUMN (name or index)")
def load_csv(arg: str, *, data_dir=None, seed=0, window: int = 24, horizon: int = 1, test_size: float = 0.2,
             val_size: float = 0.1, season: Optional[int] = None, residual: str = "none",
             inputs: str = "") -> DataBundle:
    """inputs: comma-separated columns fed beside the target as exogenous input channels (data/series_own.py)."""
    path, column = _split_path_column(arg)
    if not Path(path).expanduser().is_file():
        raise DataError(f"no such CSV file: {path}")
    values, times = read_csv_column(path, column)
    bundle = forecast_bundle(f"csv:{arg}", values, times, window=window, horizon=horizon, test_size=test_size,
                             val_size=val_size, season=season, residual=residual)
    if inputs:
        names = [c.strip() for c in str(inputs).split(",") if c.strip()]
        bundle = add_exogenous(bundle, [read_csv_column(path, c)[0] for c in names], names)
    return bundle


def _forecast_file(name: str, data_dir: Optional[str]) -> Path:
    file = FORECAST_SETS[name][0]
    if data_dir:
        root = Path(data_dir).expanduser()
        for d in (root / "timeseries" / "forecasting", root / "forecasting", root):
            for f in (d / file, d / file.lower()):
                if f.is_file():
                    return f
    where = f"under {data_dir} " if data_dir else ""
    raise DataError(f"{file} not found {where}: pass --data-dir DIR holding timeseries/forecasting/{file} "
                    f"(the statsmodels/aeon '{name}' data set as CSV)")


def _named_forecast(name: str):
    file, column, d = FORECAST_SETS[name]

    def load(*, data_dir=None, seed=0, window: int = d["window"], horizon: int = d["horizon"],
             test_size: float = d["test_size"], val_size: float = d["val_size"],
             season: Optional[int] = d["season"], residual: str = d["residual"]) -> DataBundle:
        values, times = read_csv_column(_forecast_file(name, data_dir), column)
        return forecast_bundle(name, values, times, window=window, horizon=horizon, test_size=test_size,
                               val_size=val_size, season=season, residual=residual)

    load.__name__ = f"load_{name}"
    return load


register_dataset("sunspots", "forecast", "yearly sunspot numbers 1700-2008 (309 steps, 11-year cycle); --data-dir")(
    _named_forecast("sunspots"))
register_dataset("co2", "forecast", "weekly Mauna Loa CO2 1958-2001 (2,284 steps, yearly season); --data-dir")(
    _named_forecast("co2"))
register_dataset("airline", "forecast", "monthly airline passengers 1949-1960 (144 steps, season 12); --data-dir")(
    _named_forecast("airline"))


# ---------------------------------------------------------------- naive baselines

def _scaled_series(bundle: DataBundle) -> torch.Tensor:
    mean, std = bundle.extras["scaler"]
    return torch.as_tensor((bundle.extras["series"] - mean) / std, dtype=torch.float32)


def _offset(bundle: DataBundle, split: str) -> torch.Tensor:
    """(N, horizon) what the loader subtracted from the split's scaled targets (zeros if nothing)."""
    off = bundle.extras.get("offset")
    return off[split] if off is not None else torch.zeros_like(getattr(bundle, split).y)


def naive_forecast(bundle: DataBundle, split: str = "test") -> torch.Tensor:
    """Every future step = the last observed value. (N, horizon), scaled like ``split.y``."""
    t = bundle.extras["origins"][split]
    return base_forecast(_scaled_series(bundle), t, bundle.num_classes, "naive") - _offset(bundle, split)


def seasonal_naive_forecast(bundle: DataBundle, split: str = "test", season: Optional[int] = None) -> torch.Tensor:
    """Step t+h = the last observed value one (or more) seasons before it; naive without a season.
    (N, horizon), scaled like ``split.y``."""
    m = int(season or bundle.extras.get("season") or 1)
    t = bundle.extras["origins"][split]
    try:
        level = base_forecast(_scaled_series(bundle), t, bundle.num_classes, "seasonal", m)
    except UsageError:
        raise UsageError(f"season {m} reaches before the start of the series for the first {split} origin") from None
    return level - _offset(bundle, split)


def forecast_metrics(pred: torch.Tensor, target: torch.Tensor, bundle: DataBundle) -> Dict[str, float]:
    """MAE and RMSE in the series' original units (predictions and targets are scaled alike, so
    the residual shift of ``offset`` cancels in their difference)."""
    _, std = bundle.extras["scaler"]
    err = (pred.detach().double().cpu() - target.detach().double().cpu()) * std
    return {"mae": float(err.abs().mean()), "rmse": float(err.pow(2).mean().sqrt())}


def unscale(values: torch.Tensor, bundle: DataBundle, split: Optional[str] = None) -> torch.Tensor:
    """Scaled predictions or targets of ``split`` -> the series' original units. ``split`` is needed
    when the targets are residuals (it adds back the base forecast they are relative to)."""
    mean, std = bundle.extras["scaler"]
    if bundle.extras.get("residual", "none") != "none":
        if split is None:
            raise UsageError(f"{bundle.name}: targets are residuals over a {bundle.extras['residual']} forecast; "
                             "unscale needs the split they belong to")
        values = values.detach().cpu() + _offset(bundle, split)
    return values * std + mean


__all__ = ["read_csv_column", "forecast_bundle", "load_csv", "naive_forecast", "seasonal_naive_forecast",
           "forecast_metrics", "unscale", "FORECAST_SETS"]
