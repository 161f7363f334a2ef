"""Image folders (and tars of them) decoded once into a memory-mapped uint8 cache.

Layout of PATH (a folder, or a .tar / .tar.gz of one; the tar may hold one top-level folder)::

    train/<class>/<any name>.jpg|png|...     class names: the folder names, sorted
    test/<class>/...

The first load decodes every image in parallel (a process pool) into ``<cache>/<key>/``::

    train_x.npy (N, C, H, W) uint8   train_y.npy (N,) int64   test_x.npy, test_y.npy
    manifest.json                    classes, shape, mode, counts, source, build time
    split-s<seed>-v<val>/            the seeded train/val split: train_x.npy, val_x.npy, ...,
                                     stats.json (mean/std of the training part)

``<cache>`` is ``$ARCHBENCH_CACHE/folder`` (default ``~/.cache/archbench/folder``) and ``<key>`` hashes
the folder's file list (relative paths, sizes, mtimes) or the tar's path, size and mtime, so a later
load starts in well under a second and a changed file triggers a rebuild. Every split is a read-only
memory map wrapped by ``torch.from_numpy`` (no copy): a folder larger than RAM still trains, the
page cache holds what fits. Do not write into ``bundle.train.x`` in place.

Images of another size are resized (bilinear) to the most common size, or ``image_size``; the colour
mode is the majority one (grayscale -> 1 channel, anything else -> RGB).
"""
from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..errors import DataError, UsageError
from ..files import atomic_write_text, file_lock
from . import register_dataset
from .base import DataBundle, Split, channel_stats, split_off
from .folder_cache import SPLITS, _layout_error, _memmap, _splits_of, cached_tree
from .imagefolder import flat_bundle, is_flat

# ----------------------------------------------------------------------------- sources
# An entry is (split, class, member name, loc); loc is the path relative to the root for a folder, the
# (offset, size) of the member's bytes for an uncompressed tar, which a worker reads with os.pread.


# ----------------------------------------------------------------------------- cache


def _split_train(cache: Path, n: int, val_fraction: float, seed: int) -> Path:
    """Write the seeded train/val partition as two memory-mappable files (once per seed)."""
    d = cache / f"split-s{seed}-v{val_fraction:g}"
    if (d / "stats.json").exists():
        return d
    with file_lock(cache / f"{d.name}.lock"):
        if (d / "stats.json").exists():
            return d
        tmp = cache / f"{d.name}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        x = np.load(cache / "train_x.npy", mmap_mode="r")
        y = np.load(cache / "train_y.npy")
        tr, va = split_off(n, [1.0 - val_fraction, val_fraction], seed)
        for name, idx in (("train", tr), ("val", va)):
            idx = np.sort(idx.numpy())  # sorted: the gather reads the cache front to back
            out = np.lib.format.open_memmap(tmp / f"{name}_x.npy", mode="w+", dtype=np.uint8, shape=(len(idx), *x.shape[1:]))
            for i in range(0, len(idx), 8192):
                out[i : i + 8192] = x[idx[i : i + 8192]]
            out.flush()
            del out
            np.save(tmp / f"{name}_y.npy", y[idx])
        mean, std = channel_stats(_memmap(tmp / "train_x.npy"))
        atomic_write_text(tmp / "stats.json", json.dumps({"mean": mean, "std": std, "seed": seed, "val_fraction": val_fraction}))
        shutil.rmtree(d, ignore_errors=True)
        os.replace(tmp, d)
    return d


def _resolve(path: str, data_dir: Optional[str]) -> Path:
    p = Path(path).expanduser()
    if not p.exists() and data_dir and not p.is_absolute() and (Path(data_dir) / p).exists():
        p = Path(data_dir) / p
    if not p.exists():
        raise DataError(f"image folder {path} does not exist" + (f" (nor under {data_dir})" if data_dir else ""))
    if p.is_file() and not tarfile.is_tarfile(p):
        raise DataError(f"{path} is a file but not a tar archive; give an image folder or a .tar of one")
    if p.is_dir() and not all((p / s).is_dir() for s in SPLITS) and not is_flat(p):
        raise _layout_error(p)
    return p


@register_dataset("folder:", "image", "your own images: PATH with train/<class>/ and test/<class>/ (or a .tar of it), "
                                    "or one folder of <class>/ folders (split by seed)")
def load_folder(path: str, *, data_dir: Optional[str] = None, seed: int = 0, image_size=None,
                val_fraction: float = 0.1, workers: int = 0, test_fraction: float = 0.2, folds: int = 0,
                fold: int = 0) -> DataBundle:
    """Load an image folder tree (or tar) via its uint8 cache; see the module docstring.

    image_size: None (most common size), N, "HxW" or [H, W]. val_fraction: share of train held out
    (seeded by ``seed``). workers: decoding processes on the first load (0 = all cores).
    """
    if not 0.0 <= float(val_fraction) < 1.0:
        raise UsageError(f"val_fraction must be in [0, 1), got {val_fraction}")
    p = _resolve(path, data_dir)
    cache, man = cached_tree(p, image_size, int(workers))
    if p.is_dir() and _splits_of(p) == ("",):  # one folder of class folders: stratified seeded splits
        return flat_bundle(path, cache, man, seed, val_fraction, test_fraction, folds, fold)
    n_train = man["counts"]["train"]
    if val_fraction > 0:
        d = _split_train(cache, n_train, float(val_fraction), seed)
        stats = json.loads((d / "stats.json").read_text())
        train = Split(_memmap(d / "train_x.npy"), torch.from_numpy(np.load(d / "train_y.npy")))
        val = Split(_memmap(d / "val_x.npy"), torch.from_numpy(np.load(d / "val_y.npy")))
    else:
        train = Split(_memmap(cache / "train_x.npy"), torch.from_numpy(np.load(cache / "train_y.npy")))
        val = Split(train.x[:0], train.y[:0])
        stats_file = cache / "stats-all.json"
        if not stats_file.exists():
            m, s = channel_stats(train.x)
            atomic_write_text(stats_file, json.dumps({"mean": m, "std": s}))
        stats = json.loads(stats_file.read_text())
    test = Split(_memmap(cache / "test_x.npy"), torch.from_numpy(np.load(cache / "test_y.npy")))
    return DataBundle(
        name=f"folder:{path}", kind="image", train=train, val=val, test=test,
        input_shape=tuple(man["shape"]), num_classes=len(man["classes"]), class_names=list(man["classes"]),
        mean=stats["mean"], std=stats["std"], extras={"cache_dir": str(cache), "manifest": man},
    )
