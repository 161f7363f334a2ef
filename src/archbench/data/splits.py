"""Seeded splits for the user's own data: stratified by class, or k-fold.

Every function returns index tensors into range(N). ``y`` is (N,) int64 class ids for
classification; ``None`` (regression) makes a plain seeded random split.

stratified_split(y, fractions, seed)       one index tensor per fraction (fractions sum to 1)
three_way(y, val_fraction, test_fraction, folds, fold, seed) -> train, val, test
    folds == 0: a stratified train/val/test split
    folds >= 2: the test split is fold ``fold`` of a stratified ``folds``-fold partition, validation a
                stratified ``val_fraction`` of the rest (so `--sweep fold=0,...,K-1` covers every example
                exactly once as test data)
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch

from ..errors import DataError, UsageError
from .base import split_off


def stratified_split(y: Optional[torch.Tensor], fractions: Sequence[float], seed: int, n: int = 0
                     ) -> List[torch.Tensor]:
    """Each class is cut in the given fractions (rounded per class), so every split keeps the class mix.
    Without ``y`` a seeded random split of range(n)."""
    if y is None:
        return split_off(n, fractions, seed)
    g = torch.Generator().manual_seed(seed)
    parts: List[List[torch.Tensor]] = [[] for _ in fractions]
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        sizes = [int(round(f * len(idx))) for f in fractions[:-1]]
        sizes.append(len(idx) - sum(sizes))
        if sizes[-1] < 0:  # rounding up every small split can overshoot a tiny class
            sizes[-2] += sizes[-1]
            sizes[-1] = 0
        for part, chunk in zip(parts, torch.split(idx, sizes)):
            part.append(chunk)
    out = []
    for part in parts:
        idx = torch.cat(part) if part else torch.zeros(0, dtype=torch.int64)
        out.append(idx[torch.randperm(len(idx), generator=g)])  # classes mixed, order seeded
    return out


def kfold_assign(y: Optional[torch.Tensor], n: int, folds: int, seed: int) -> torch.Tensor:
    """(N,) fold id of every example; stratified: within each class folds take turns."""
    g = torch.Generator().manual_seed(seed)
    fold_of = torch.empty(n, dtype=torch.int64)
    groups = [torch.arange(n)] if y is None else [torch.nonzero(y == c).flatten() for c in torch.unique(y).tolist()]
    offset = 0
    for idx in groups:
        idx = idx[torch.randperm(len(idx), generator=g)]
        fold_of[idx] = (torch.arange(len(idx)) + offset) % folds
        offset += len(idx)  # the next class starts where this one ended: fold sizes stay within one
    return fold_of


def three_way(y: Optional[torch.Tensor], n: int, val_fraction: float, test_fraction: float, folds: int,
              fold: int, seed: int, where: str = "data") -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """train, val, test indices; see the module docstring. ``where`` names the data in errors."""
    if not 0 < val_fraction < 1:
        raise UsageError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    folds, fold = int(folds), int(fold)
    if folds == 1 or folds < 0:
        raise UsageError(f"folds must be 0 (one split) or at least 2, got {folds}")
    if folds:
        if not 0 <= fold < folds:
            raise UsageError(f"fold must be in 0..{folds - 1}, got {fold}")
        if n < folds * 2:
            raise DataError(f"{where}: {n} examples are too few for {folds} folds")
        fold_of = kfold_assign(y, n, folds, seed)
        test = torch.nonzero(fold_of == fold).flatten()
        rest = torch.nonzero(fold_of != fold).flatten()
        tr, va = stratified_split(None if y is None else y[rest], [1 - val_fraction, val_fraction], seed + 1,
                                  n=len(rest))
        train, val = rest[tr], rest[va]
    else:
        if not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
            raise UsageError(f"test_fraction must be in [0, 1) with val_fraction + test_fraction < 1, "
                             f"got {test_fraction}")
        train, val, test = stratified_split(y, [1 - val_fraction - test_fraction, val_fraction, test_fraction], seed,
                                            n=n)
    for name, idx in (("training", train), ("validation", val), ("test", test)):
        if len(idx) == 0 and not (name == "test" and test_fraction == 0 and not folds):
            raise DataError(f"{where}: {n} examples leave the {name} split empty; give more data or "
                            f"change val_fraction/test_fraction")
    return train, val, test


__all__ = ["stratified_split", "kfold_assign", "three_way"]
