"""UCR/UEA time-series classification: .ts files (aeon/sktime format) as a DataBundle of kind sequence."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from ..errors import DataError, UsageError
from . import register_dataset
from .base import DataBundle, Split


def parse_ts(path) -> Tuple[List[np.ndarray], List[str], Dict[str, str]]:
    """Read a sktime/aeon ``.ts`` file -> (series: list of (C, T_i) float64 arrays, labels, header).

    Dimensions are separated by ':', values by ','; '?' is missing (NaN); the last field is the class
    label when ``@classLabel true``. Timestamped values ``(t,v),(t,v)`` keep only v.
    """
    path = Path(path)
    header: Dict[str, str] = {}
    series, labels = [], []
    in_data = False
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}") from None
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DataError(f"{path}:{n}: expected a @header line before @data")
            key, _, value = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
            else:
                header[key] = value.strip()
            continue
        has_label = header.get("classlabel", "false").split()[:1] == ["true"]
        fields = line.split(":")
        if has_label:
            declared = header.get("classlabel", "").split()[1:]
            if len(fields) < 2:
                raise DataError(f"{path}:{n}: no class label (expected values:...:label, @classLabel true)")
            label = fields.pop().strip()
            if declared and label not in declared:
                raise DataError(f"{path}:{n}: class label {label!r} is not one of those @classLabel declares "
                                f"({' '.join(declared[:10])})")
            labels.append(label)
        try:
            dims = []
            for f in fields:
                f = f.strip()
                if f.startswith("("):
                    f = ",".join(re.findall(r"\(\s*[^,()]*,\s*([^)]*)\)", f))
                dims.append(np.array(f.replace("?", "nan").split(","), dtype=np.float64))
        except ValueError:
            raise DataError(f"{path}:{n}: a value is not a number") from None
        length = max(len(d) for d in dims)
        if any(len(d) != length for d in dims):  # unequal dimensions within one case: pad with NaN
            dims = [np.pad(d, (0, length - len(d)), constant_values=np.nan) for d in dims]
        series.append(np.stack(dims))
    if not in_data:
        raise DataError(f"{path}: no @data section; is this a .ts file?")
    if not series:
        raise DataError(f"{path}: no cases after @data")
    if len({s.shape[0] for s in series}) > 1:
        raise DataError(f"{path}: cases have different numbers of dimensions")
    return series, labels, header


def _label_order(labels: List[str]) -> List[str]:
    uniq = set(labels)
    try:
        return sorted(uniq, key=float)  # "2" before "10"
    except ValueError:
        return sorted(uniq)


def stratified_split(y: torch.Tensor, fraction: float, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Seeded (train_idx, val_idx): about ``fraction`` of every class to val, at least 1 kept in train."""
    g = torch.Generator().manual_seed(seed)
    tr, va = [], []
    for c in torch.unique(y):
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = min(int(round(fraction * len(idx))), len(idx) - 1)
        va.append(idx[:k])
        tr.append(idx[k:])
    return torch.cat(tr).sort().values, torch.cat(va).sort().values


def _pad(series: List[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """List of (C, T_i) -> (N, T, C) NaN-padded, lengths (N,)."""
    lengths = np.array([s.shape[1] for s in series], dtype=np.int64)
    out = np.full((len(series), int(lengths.max()), series[0].shape[0]), np.nan)
    for i, s in enumerate(series):  # N is at most a few thousand cases
        out[i, : s.shape[1]] = s.T
    return out, lengths


def _find_ucr(arg: str, data_dir: Optional[str]) -> Tuple[Path, Path]:
    p = Path(arg).expanduser()
    if p.is_file():
        m = re.match(r"(.*)_(TRAIN|TEST)\.ts$", p.name, re.IGNORECASE)
        if not m:
            raise DataError(f"{p}: expected a NAME_TRAIN.ts or NAME_TEST.ts file")
        return p.with_name(f"{m.group(1)}_TRAIN.ts"), p.with_name(f"{m.group(1)}_TEST.ts")
    folders = [p] if p.is_dir() else []
    if data_dir:
        root = Path(data_dir).expanduser()
        folders += [root / "timeseries" / "ucr" / arg, root / "ucr" / arg, root / arg]
    for d in folders:
        name = arg if d.name.lower() == Path(arg).name.lower() else d.name
        for stem in (name, d.name):
            if (d / f"{stem}_TRAIN.ts").is_file() and (d / f"{stem}_TEST.ts").is_file():
                return d / f"{stem}_TRAIN.ts", d / f"{stem}_TEST.ts"
    where = f" under {data_dir}" if data_dir else ""
    raise DataError(f"UCR/UEA set {arg!r} not found{where}: pass --data-dir DIR holding "
                    f"timeseries/ucr/{arg}/{arg}_TRAIN.ts (from timeseriesclassification.com), or a folder path")


@register_dataset("ucr:", "sequence", "UCR/UEA time-series classification (.ts): ucr:NAME with --data-dir, or ucr:PATH")
def load_ucr(arg: str, *, data_dir=None, seed=0, val_fraction: float = 0.2) -> DataBundle:
    if not 0 <= val_fraction < 1:
        raise UsageError(f"val_fraction must be in [0, 1), got {val_fraction}")
    train_file, test_file = _find_ucr(arg, data_dir)
    tr_series, tr_labels, header = parse_ts(train_file)
    te_series, te_labels, _ = parse_ts(test_file)
    if not tr_labels or not te_labels:
        raise DataError(f"{train_file.parent}: the .ts files carry no class labels")
    unseen = sorted(set(te_labels) - set(tr_labels))
    if unseen:  # a class no training case shows cannot be learnt: the test score would lie
        raise DataError(f"{test_file}: classes {', '.join(map(repr, unseen[:5]))} appear in test but not in {train_file.name}")
    classes = _label_order(tr_labels + te_labels)
    index = {c: i for i, c in enumerate(classes)}
    if tr_series[0].shape[0] != te_series[0].shape[0]:
        raise DataError(f"{train_file.parent}: train and test have different numbers of dimensions")

    x_tr, len_tr = _pad(tr_series)
    x_te, len_te = _pad(te_series)
    y_tr = torch.tensor([index[c] for c in tr_labels])
    y_te = torch.tensor([index[c] for c in te_labels])
    tr_idx, va_idx = stratified_split(y_tr, val_fraction, seed)
    tr_np = tr_idx.numpy()

    # z-normalise with the training part's per-channel statistics over real (non-pad, non-missing) values
    mean = np.nanmean(x_tr[tr_np], axis=(0, 1))
    std = np.nanstd(x_tr[tr_np], axis=(0, 1))
    std = np.where(std > 0, std, 1.0)

    def finish(x):  # padding and missing values -> 0 after scaling
        return torch.from_numpy(np.nan_to_num((x - mean) / std, nan=0.0).astype(np.float32))

    width = max(x_tr.shape[1], x_te.shape[1])
    x_tr = np.pad(x_tr, ((0, 0), (0, width - x_tr.shape[1]), (0, 0)), constant_values=np.nan)
    x_te = np.pad(x_te, ((0, 0), (0, width - x_te.shape[1]), (0, 0)), constant_values=np.nan)
    xt, xe = finish(x_tr), finish(x_te)
    lt, le = torch.from_numpy(len_tr), torch.from_numpy(len_te)
    name = header.get("problemname") or train_file.name[: -len("_TRAIN.ts")]
    return DataBundle(
        name=f"ucr:{name}", kind="sequence", train=Split(xt[tr_idx], y_tr[tr_idx]), val=Split(xt[va_idx], y_tr[va_idx]),
        test=Split(xe, y_te), input_shape=(width, xt.shape[2]), num_classes=len(classes), class_names=classes,
        extras={"lengths": {"train": lt[tr_idx], "val": lt[va_idx], "test": le},
                "channel_stats": (mean.tolist(), std.tolist()), "files": (str(train_file), str(test_file))},
    )
