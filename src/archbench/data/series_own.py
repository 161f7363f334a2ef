"""Your own series: exogenous inputs for ``csv:`` forecasting, and ``series:PATH`` classification.

Exogenous inputs (``csv:PATH:TARGET --set inputs=temp,price``): the named columns join the target
as input channels over the same window (values known before the forecast origin t):
    x (N, window, 1 + K) float32: channel 0 the target as data/timeseries.py makes it, channels 1..K
                                  the inputs, each scaled with its training part's mean and std
    y (N, horizon) unchanged

Sequence classification (``series:PATH``), kind "sequence" like ``ucr:``:
    wide   one row per series: a label column (``label_column``, or one named label/class/target/y)
           and the values of its time steps in the other (numeric) columns; a gap ends a shorter series
    long   ``id_column`` (or a column named id/series_id): one row per time step, rows of a series
           in file order (or sorted by ``time_column``, or by a column named time/step/t), every other numeric column a channel; the
           label must be the same on every row of a series
    x (N, T, C) float32 z-normalised per channel with training statistics, right-padded with 0;
    ``extras["lengths"]`` the true lengths; y (N,) int64, labels sorted. Splits seeded, stratified.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from ..errors import DataError, UsageError
from . import register_dataset
from .base import DataBundle, Split
from .splits import three_way
from .table import class_order
from .tabular_io import is_missing, read_records, to_float

LABEL_NAMES = ("label", "class", "target", "y", "category")
ID_NAMES = ("id", "series_id", "series", "sample", "case")
TIME_NAMES = ("time", "step", "t", "timestamp", "timestep")


def add_exogenous(bundle: DataBundle, columns: List[np.ndarray], names: List[str]) -> DataBundle:
    """Append input channels (each (n,) float64, aligned with the series) to every window."""
    window = int(bundle.input_shape[0])
    val_start = bundle.extras["cuts"][0]
    chans = []
    for v in columns:
        mean, std = float(v[:val_start].mean()), float(v[:val_start].std()) or 1.0
        chans.append(torch.from_numpy((v - mean) / std).float())
    exog = torch.stack(chans, dim=1)  # (n, K)
    for s in ("train", "val", "test"):
        t = bundle.extras["origins"][s]
        x = exog[t[:, None] + torch.arange(-window, 0)]  # (N, window, K)
        split = getattr(bundle, s)
        setattr(bundle, s, Split(torch.cat([split.x, x], dim=2).contiguous(), split.y))
    bundle.input_shape = (window, 1 + len(columns))
    bundle.extras["inputs"] = list(names)
    return bundle


def _find(columns: List[str], given: str, names, what: str, path) -> str:
    if given:
        if given not in columns:
            raise DataError(f"{path} has no column {given!r}; columns: {', '.join(columns[:20])}")
        return given
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), "")


def _series_from_records(rec, label_column: str, id_column: str, time_column: str):
    """-> (list of (T_i, C) float64 arrays, labels)."""
    label = _find(rec.columns, label_column, LABEL_NAMES, "label", rec.path)
    if not label:
        raise DataError(f"{rec.path}: no label column (label/class/target/y); --set label_column=NAME")
    ident = _find(rec.columns, id_column, ID_NAMES, "id", rec.path)
    if ident and not time_column:  # long format: a column named like a time step orders the rows
        time_column = _find(rec.columns, "", TIME_NAMES, "time", rec.path)
    lj = rec.columns.index(label)
    for i, r in enumerate(rec.rows):
        if is_missing(r[lj]) or rec.bad_bytes[i]:
            raise DataError(f"{rec.where(i)}: {'bytes that are not UTF-8' if rec.bad_bytes[i] else 'no label'}")
    skip = {label, ident, time_column} - {""}
    value_cols = [c for c in rec.columns if c not in skip]
    floats = {}
    for c in value_cols:
        v = to_float(rec.column(c))
        if v is None:
            bad = next(i for i, x in enumerate(rec.column(c)) if to_float([x]) is None)
            raise DataError(f"{rec.where(bad)}: {rec.rows[bad][rec.columns.index(c)]!r} in column {c!r} is not a number")
        floats[c] = np.array(v, dtype=np.float64)
    if not value_cols:
        raise DataError(f"{rec.path}: no value columns besides the label")
    if not ident:  # wide: one row per series, the columns are its time steps
        values = np.stack([floats[c] for c in value_cols], axis=1)  # (N, T)
        series = []
        for row in values:
            ok = np.nonzero(~np.isnan(row))[0]
            n = int(ok[-1]) + 1 if len(ok) else 0
            if n == 0:
                raise DataError(f"{rec.path}: a series with no values")
            series.append(row[:n, None])
        return series, [r[lj].strip() for r in rec.rows]
    ids = rec.column(ident)
    groups: Dict[str, List[int]] = {}
    for i, key in enumerate(ids):
        groups.setdefault(key, []).append(i)
    if time_column:
        tcol = to_float(rec.column(time_column))
        if tcol is None:
            raise DataError(f"{rec.path}: time column {time_column!r} is not numeric")
    series, labels = [], []
    mat = np.stack([floats[c] for c in value_cols], axis=1)  # (rows, C)
    for key, rows in groups.items():
        if time_column:
            rows = sorted(rows, key=lambda i: tcol[i])
        labs = {rec.rows[i][lj].strip() for i in rows}
        if len(labs) > 1:
            first_other = next(i for i in rows if rec.rows[i][lj].strip() != rec.rows[rows[0]][lj].strip())
            raise DataError(f"{rec.where(first_other)}: series {key!r} has more than one label ({', '.join(sorted(labs))})")
        series.append(mat[rows])
        labels.append(labs.pop())
    return series, labels


@register_dataset("series:", "sequence", "your own series to classify: a CSV with one row per series (wide) "
                                         "or one row per step with an id column (long)")
def load_series(arg: str, *, data_dir=None, seed=0, label_column: str = "", id_column: str = "",
                time_column: str = "", val_fraction: float = 0.15, test_fraction: float = 0.2, folds: int = 0,
                fold: int = 0) -> DataBundle:
    path = Path(arg).expanduser()
    if not path.exists() and data_dir and (Path(data_dir) / path).exists():
        path = Path(data_dir) / path
    rec = read_records(path)
    series, labels = _series_from_records(rec, label_column, id_column, time_column)
    names = class_order(labels)
    if len(names) < 2:
        raise DataError(f"{path}: one label only; nothing to classify")
    index = {c: i for i, c in enumerate(names)}
    y = torch.tensor([index[v] for v in labels], dtype=torch.int64)
    tr, va, te = three_way(y, len(series), float(val_fraction), float(test_fraction), folds, fold, seed, str(path))
    width, chans = max(len(s) for s in series), series[0].shape[1]
    x = np.full((len(series), width, chans), np.nan)
    for i, s in enumerate(series):
        x[i, : len(s)] = s
    lengths = torch.tensor([len(s) for s in series])
    train = x[tr.numpy()]
    mean = np.nanmean(train, axis=(0, 1))
    std = np.nanstd(train, axis=(0, 1))
    std = np.where(std > 0, std, 1.0)
    xt = torch.from_numpy(np.nan_to_num((x - mean) / std, nan=0.0).astype(np.float32))  # gaps, padding -> mean
    if not math.isfinite(float(np.abs(mean).sum())):
        raise UsageError(f"{path}: a channel has no values in the training split")
    return DataBundle(
        name=f"series:{arg}", kind="sequence", train=Split(xt[tr], y[tr]), val=Split(xt[va], y[va]),
        test=Split(xt[te], y[te]), input_shape=(width, chans), num_classes=len(names), class_names=names,
        extras={"lengths": {"train": lengths[tr], "val": lengths[va], "test": lengths[te]},
                "channel_stats": (mean.tolist(), std.tolist())},
    )


__all__ = ["add_exogenous", "load_series"]
