"""``folder:PATH`` for one folder of class folders (torchvision's ImageFolder layout)::

    PATH/<class>/<any name>.jpg|png|...

The images are decoded once into the same uint8 cache as a train/test tree (data/folder.py, where
they all count as "train"); here they are cut into seeded, stratified train/val/test splits
(``test_fraction``, or ``folds``/``fold`` for k-fold), and normalised with the training part's
per-channel statistics.

    x (N, C, H, W) uint8, y (N,) int64 -- the splits are copies in memory, not memory maps
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import DataBundle, Split, channel_stats
from .folder_cache import _memmap
from .splits import three_way


def is_flat(path: Path) -> bool:
    """Two or more visible sub-folders and no train/ or test/: class folders."""
    subs = [d for d in Path(path).iterdir() if d.is_dir() and not d.name.startswith(".")]
    return len(subs) >= 2 and not any(d.name in ("train", "test") for d in subs)


def flat_bundle(name: str, cache: Path, man: dict, seed: int, val_fraction: float, test_fraction: float,
                folds: int, fold: int) -> DataBundle:
    x = _memmap(cache / "train_x.npy")
    y = torch.from_numpy(np.load(cache / "train_y.npy"))
    tr, va, te = three_way(y, len(y), float(val_fraction), float(test_fraction), folds, fold, seed, str(name))
    # sorted gathers read the memory map front to back; the order within a split does not matter,
    # training draws its own seeded permutation every epoch
    splits = {k: Split(torch.from_numpy(np.ascontiguousarray(x.numpy()[np.sort(i.numpy())])), y[i.sort().values])
              for k, i in (("train", tr), ("val", va), ("test", te))}
    mean, std = channel_stats(splits["train"].x)
    return DataBundle(
        name=f"folder:{name}", kind="image", train=splits["train"], val=splits["val"], test=splits["test"],
        input_shape=tuple(man["shape"]), num_classes=len(man["classes"]), class_names=list(man["classes"]),
        mean=mean, std=std, extras={"cache_dir": str(cache), "manifest": man, "layout": "class folders"},
    )


__all__ = ["is_flat", "flat_bundle"]
