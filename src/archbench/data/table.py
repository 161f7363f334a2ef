"""Your own tables: ``table:PATH[:TARGET]`` for a CSV/TSV or Parquet file, one row per example.

    x (N, F) float32: standardised numbers, a 0/1 missing-value indicator per numeric column that has
                      gaps in training, one-hot categories (the ``max_categories`` most frequent
                      training values; others and gaps are all zeros)
    y (N,)  int64 classes, or (N, 1) float32 for regression (standardised; ``extras["target_scale"]``
                      turns it back into the file's units)

Everything (means, scales, categories, which columns get indicators) is fitted on the training split
only. A column is numeric when every present value is a number, else categorical. TARGET is a column
name (default: a column named target/label/class/y, else the last one). The task follows the target:
categories, or whole numbers with at most ``max_classes`` values, are classification; other numbers
regression (``task=`` overrides). Splits are seeded and stratified (``folds``/``fold`` for k-fold).

``extras["raw"]`` keeps each split as (N, columns) float64 with NaN gaps and category codes, and
``extras["categorical"]`` which columns are codes: the gradient-boosting baseline reads that, as a
practitioner would give it the table. ``extras["encoder"]`` is the JSON that re-encodes new rows.
"""
from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from ..errors import DataError, UsageError
from . import register_dataset
from .base import DataBundle, Split
from .splits import three_way
from .tabular_io import Records, is_missing, read_records, to_float

TARGET_NAMES = ("target", "label", "class", "y", "outcome")
TASKS = ("auto", "classification", "regression")


def split_spec(arg: str) -> Tuple[Path, Optional[str]]:
    """'data.csv' or 'data.csv:price' -> (path, target or None); a path holding ':' still works."""
    p = Path(arg).expanduser()
    if p.exists() or ":" not in arg:
        return p, None
    head, _, target = arg.rpartition(":")
    return Path(head).expanduser(), target or None


def pick_target(rec: Records, target: Optional[str]) -> str:
    if target:
        if target not in rec.columns:
            raise DataError(f"{rec.path} has no column {target!r}; columns: {', '.join(rec.columns[:20])}")
        return target
    lower = {c.lower(): c for c in rec.columns}
    for name in TARGET_NAMES:
        if name in lower:
            return lower[name]
    return rec.columns[-1]


def infer_task(values: List[Optional[str]], max_classes: int) -> str:
    nums = to_float(values)
    if nums is None:
        return "classification"
    present = [v for v in nums if not math.isnan(v)]
    whole = all(v == int(v) for v in present)
    return "classification" if whole and len(set(present)) <= max_classes else "regression"


def class_order(labels: List[str]) -> List[str]:
    """Label strings sorted, numerically when they all are numbers ('2' before '10')."""
    uniq = sorted(set(labels))
    try:
        return sorted(uniq, key=float)
    except ValueError:
        return uniq


class TableEncoder:
    """Columns -> model features, fitted on training rows; JSON-able (``to_dict``) for predict."""

    def __init__(self, columns: List[str], kinds: List[str], max_categories: int):
        self.columns, self.kinds, self.max_categories = columns, kinds, max_categories
        self.stats: List[Dict] = []

    def fit(self, cols: List[List[Optional[str]]], rows: np.ndarray) -> "TableEncoder":
        self.stats = []
        for values, kind in zip(cols, self.kinds):
            vals = [values[i] for i in rows]
            if kind == "numeric":
                a = np.array(to_float(vals), dtype=np.float64)
                ok = a[~np.isnan(a)]
                mean = float(ok.mean()) if len(ok) else 0.0
                std = float(ok.std()) if len(ok) > 1 else 1.0
                self.stats.append({"mean": mean, "std": std if std > 1e-12 else 1.0,
                                   "indicator": bool(np.isnan(a).any())})
            else:
                counts = Counter(v.strip() for v in vals if not is_missing(v))
                top = sorted(counts, key=lambda c: (-counts[c], c))[: self.max_categories]
                self.stats.append({"categories": top})
        return self

    def raw(self, cols: List[List[Optional[str]]]) -> np.ndarray:
        """(N, columns) float64: numbers with NaN gaps, categories as codes (NaN: gap or unseen)."""
        out = np.empty((len(cols[0]) if cols else 0, len(cols)), dtype=np.float64)
        for j, (values, kind, st) in enumerate(zip(cols, self.kinds, self.stats)):
            if kind == "numeric":
                out[:, j] = to_float(values) or [float("nan")] * len(values)
            else:
                code = {c: float(i) for i, c in enumerate(st["categories"])}
                out[:, j] = [code.get(v.strip(), math.nan) if v is not None else math.nan for v in values]
        return out

    def features(self, raw: np.ndarray) -> np.ndarray:
        """(N, columns) raw -> (N, F) float32 model input."""
        parts = []
        for j, (kind, st) in enumerate(zip(self.kinds, self.stats)):
            a = raw[:, j]
            gap = np.isnan(a)
            if kind == "numeric":
                parts.append(np.where(gap, 0.0, (a - st["mean"]) / st["std"])[:, None])
                if st["indicator"]:
                    parts.append(gap[:, None].astype(np.float64))
            else:
                k = len(st["categories"])
                onehot = np.zeros((len(a), k))
                have = ~gap
                onehot[np.nonzero(have)[0], a[have].astype(np.int64)] = 1.0
                parts.append(onehot)
        if not parts:
            return np.zeros((raw.shape[0], 0), np.float32)
        return np.concatenate(parts, axis=1).astype(np.float32)

    def feature_names(self) -> List[str]:
        names = []
        for c, kind, st in zip(self.columns, self.kinds, self.stats):
            if kind == "numeric":
                names += [c] + ([f"{c} missing"] if st["indicator"] else [])
            else:
                names += [f"{c}={v}" for v in st["categories"]]
        return names

    def to_dict(self) -> Dict:
        return {"columns": self.columns, "kinds": self.kinds, "max_categories": self.max_categories,
                "stats": self.stats}


@register_dataset("table:", "table", "your own table: PATH[:TARGET], a CSV/TSV or Parquet file (numbers, "
                                     "categories, gaps); classification or regression")
def load_table(arg: str, *, data_dir=None, seed=0, target: str = "", task: str = "auto",
               val_fraction: float = 0.15, test_fraction: float = 0.2, folds: int = 0, fold: int = 0,
               max_categories: int = 50, max_classes: int = 20, skip_bad_rows: bool = False,
               class_weights: str = "none") -> DataBundle:
    path, spec_target = split_spec(arg)
    if not path.exists() and data_dir and not path.is_absolute() and (Path(data_dir) / path).exists():
        path = Path(data_dir) / path
    if task not in TASKS:
        raise UsageError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if not 1 <= int(max_categories) <= 250:
        raise UsageError(f"max_categories must be 1..250, got {max_categories}")
    rec = read_records(path)
    tcol = pick_target(rec, target or spec_target)
    tj = rec.columns.index(tcol)
    bad = [i for i, r in enumerate(rec.rows) if is_missing(r[tj]) or rec.bad_bytes[i]]
    if bad and not skip_bad_rows:
        i = bad[0]
        why = "bytes that are not UTF-8" if rec.bad_bytes[i] else f"no value in target column {tcol!r}"
        raise DataError(f"{rec.where(i)}: {why} ({len(bad)} such row(s); --set skip_bad_rows=true skips them)")
    if bad:
        print(f"{path}: skipped {len(bad)} bad row(s) (missing target or bytes that are not UTF-8)", file=sys.stderr)
    keep = np.setdiff1d(np.arange(len(rec.rows)), np.array(bad, dtype=np.int64))
    rows = [rec.rows[i] for i in keep]
    if len(rows) < 10:
        raise DataError(f"{path}: {len(rows)} usable rows; a table needs at least 10")
    feat_cols = [c for c in rec.columns if c != tcol]
    if not feat_cols:
        raise DataError(f"{path}: only the target column {tcol!r}; no features to learn from")
    cols = [[r[rec.columns.index(c)] for r in rows] for c in feat_cols]
    kinds = ["numeric" if to_float(v) is not None else "categorical" for v in cols]
    labels = [r[tj].strip() for r in rows]
    task = infer_task(labels, int(max_classes)) if task == "auto" else task
    if task == "classification":
        names = class_order(labels)
        if len(names) < 2:
            raise DataError(f"{path}: target {tcol!r} has one value ({names[0]!r}); nothing to classify")
        index = {c: i for i, c in enumerate(names)}
        y_all = torch.tensor([index[v] for v in labels], dtype=torch.int64)
        strat = y_all
    else:
        nums = to_float(labels)
        if nums is None:
            bad_row = next(i for i, v in enumerate(labels) if to_float([v]) is None)
            raise DataError(f"{rec.where(int(keep[bad_row]))}: target {labels[bad_row]!r} is not a number (task=regression)")
        names, y_all, strat = [], torch.tensor(nums, dtype=torch.float64)[:, None], None
    tr, va, te = three_way(strat, len(rows), float(val_fraction), float(test_fraction), folds, fold, seed, str(path))
    enc = TableEncoder(feat_cols, kinds, int(max_categories)).fit(cols, tr.numpy())
    raw_all = enc.raw(cols)
    x_all = torch.from_numpy(enc.features(raw_all))
    extras = {"raw": {}, "categorical": [k == "categorical" for k in kinds], "encoder": enc.to_dict(),
              "feature_names": enc.feature_names(), "skipped_rows": len(bad), "target": tcol}
    if task == "regression":
        mu, sd = float(y_all[tr].mean()), float(y_all[tr].std()) if len(tr) > 1 else 1.0
        sd = sd if sd > 1e-12 else 1.0
        y_all = ((y_all - mu) / sd).float()
        extras["target_scale"] = [mu, sd]
    splits = {}
    for name, idx in (("train", tr), ("val", va), ("test", te)):
        splits[name] = Split(x_all[idx].contiguous(), y_all[idx].contiguous())
        extras["raw"][name] = raw_all[idx.numpy()]
    if class_weights not in ("none", "balanced"):
        raise UsageError(f"class_weights must be none or balanced, got {class_weights!r}")
    if class_weights == "balanced" and task == "classification":
        extras["class_weight"] = balanced_weights(splits["train"].y, len(names))
    return DataBundle(
        name=f"table:{arg}", kind="table", train=splits["train"], val=splits["val"], test=splits["test"],
        input_shape=(int(x_all.shape[1]),), num_classes=len(names) if names else 1, class_names=names,
        task=task, extras=extras,
    )


def balanced_weights(y: torch.Tensor, k: int) -> torch.Tensor:
    """(K,) float32 weights n / (K * n_c) (scikit-learn's "balanced"); a class absent from training gets 0."""
    counts = torch.bincount(y, minlength=k).double()
    w = torch.where(counts > 0, len(y) / (k * counts.clamp_min(1)), torch.zeros_like(counts))
    return w.float()


__all__ = ["load_table", "TableEncoder", "split_spec", "balanced_weights"]
