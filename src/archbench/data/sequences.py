"""Synthetic sequence tasks, generated on the fly from the seed (nothing to download).

Every task gives x float32 (N, T, F) and y int64 (N,), split 70/15/15, classes balanced:

    seq-sum       the notebook's task: is the sum of a Gaussian sequence positive?      F = n_features
    adding        the adding problem as a classification: values in channel 0, a marker
                  channel 1 flags two steps (one in each half); is their sum above 1?  F >= 2
    first-marked  a token (one-hot over n_tokens channels, marker channel set) is shown
                  at step 0, then only noise; the label is that token.                  F >= n_tokens + 1

seq-sum needs every step equally; adding and first-marked need a memory that spans the whole
sequence, which is where a plain RNN fails (seq_len 200) and LSTM, GRU and attention do not.
seq-sum's ``draw="notebook"`` reproduces the notebook's own sequences and split exactly, for
side-by-sides with its code on the same test sequences.
Channels beyond those a task needs hold Gaussian noise (distractors).
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence

import numpy as np
import torch

from ..errors import UsageError
from ..registry import check_choice
from . import register_dataset
from .base import DataBundle, Split, split_off

FRACTIONS = (0.7, 0.15, 0.15)
DRAWS = ("seeded", "notebook")
NOTEBOOK_SEED = 42  # the notebook's torch.manual_seed and random_state


def _check(n_samples: int, seq_len: int, n_features: int, min_len: int = 1, min_features: int = 1) -> None:
    if n_samples < 20:
        raise UsageError(f"n_samples must be at least 20 (got {n_samples})")
    if seq_len < min_len:
        raise UsageError(f"seq_len must be at least {min_len} for this task (got {seq_len})")
    if n_features < min_features:
        raise UsageError(f"n_features must be at least {min_features} for this task (got {n_features})")


def _balanced_labels(n: int, n_classes: int, g: torch.Generator) -> torch.Tensor:
    """n labels, each class (n // n_classes or one more) times, in random order."""
    return (torch.randperm(n, generator=g) % n_classes).long()


def _bundle(name: str, x: torch.Tensor, y: torch.Tensor, seed: int, class_names: List[str],
            splits: Optional[Sequence[torch.Tensor]] = None, **options) -> DataBundle:
    """Split (train, val, test indices: ``splits``, or 70/15/15 drawn from ``seed``) into a bundle."""
    tr, va, te = splits if splits is not None else split_off(len(y), FRACTIONS, seed)
    return DataBundle(
        name=name, kind="sequence",
        train=Split(x[tr], y[tr]), val=Split(x[va], y[va]), test=Split(x[te], y[te]),
        input_shape=tuple(x.shape[1:]), num_classes=len(class_names), class_names=class_names,
        options=dict(options),
    )


@register_dataset("seq-sum", "sequence", "is the sum of a Gaussian sequence positive? (the notebook's RNN task)")
def seq_sum(*, data_dir=None, seed: int = 0, n_samples: int = 5000, seq_len: int = 50, n_features: int = 1,
            draw: str = "seeded") -> DataBundle:
    """draw="seeded": generated and split from ``seed``. draw="notebook": the notebook's own sequences
    and split (torch seed 42, then scikit-learn's train_test_split with random_state 42, twice), so that
    a comparison with the notebook's code scores both on the same 750 test sequences; ``seed`` is unused."""
    _check(n_samples, seq_len, n_features)
    check_choice("draw", draw, DRAWS)
    g = torch.Generator().manual_seed(NOTEBOOK_SEED if draw == "notebook" else seed)
    x = torch.randn(n_samples, seq_len, n_features, generator=g)
    y = (x.sum(dim=(1, 2)) > 0).long()
    splits = notebook_split(n_samples) if draw == "notebook" else None
    return _bundle("seq-sum", x, y, seed, ["negative", "positive"], splits,
                   n_samples=n_samples, seq_len=seq_len, n_features=n_features, draw=draw)


def notebook_split(n: int) -> List[torch.Tensor]:
    """The notebook's (train, val, test) indices: scikit-learn's ``train_test_split(test_size=0.3,
    random_state=42)``, then the same on the 30% with test_size=0.5. Written out as train_test_split
    draws it (a permutation from NumPy's RandomState(42); the first ceil(test_size * n) are the test
    part), because importing scikit-learn costs most of a second; tests/test_sequence_data.py checks it."""
    def split(idx: np.ndarray, test_size: float):
        n_test = math.ceil(test_size * len(idx))
        perm = np.random.RandomState(NOTEBOOK_SEED).permutation(len(idx))
        return idx[perm[n_test:]], idx[perm[:n_test]]

    tr, rest = split(np.arange(n), 0.3)
    va, te = split(rest, 0.5)
    return [torch.from_numpy(i) for i in (tr, va, te)]


@register_dataset("adding", "sequence", "adding problem: do the two marked values sum to more than 1? (long memory)")
def adding(*, data_dir=None, seed: int = 0, n_samples: int = 5000, seq_len: int = 100, n_features: int = 2) -> DataBundle:
    _check(n_samples, seq_len, n_features, min_len=2, min_features=2)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_samples, seq_len, n_features, generator=g)
    values = torch.rand(n_samples, seq_len, generator=g)
    half = seq_len // 2
    first = torch.randint(0, half, (n_samples,), generator=g)
    second = torch.randint(half, seq_len, (n_samples,), generator=g)
    rows = torch.arange(n_samples)
    marker = torch.zeros(n_samples, seq_len)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    x[:, :, 0] = values
    x[:, :, 1] = marker
    # two U(0, 1) values: their sum is symmetric about 1, so the classes balance
    y = (values[rows, first] + values[rows, second] > 1.0).long()
    return _bundle("adding", x, y, seed, ["sum <= 1", "sum > 1"],
                   n_samples=n_samples, seq_len=seq_len, n_features=n_features)


@register_dataset("first-marked", "sequence", "recall the token shown at step 0 after seq_len steps of noise (long memory)")
def first_marked(*, data_dir=None, seed: int = 0, n_samples: int = 5000, seq_len: int = 100, n_features: int = 0,
                 n_tokens: int = 4, noise: float = 1.0) -> DataBundle:
    """``n_features`` 0 = just the token channels and the marker; more adds noise channels."""
    n_features = n_features or n_tokens + 1
    if n_tokens < 2:
        raise UsageError(f"n_tokens must be at least 2 (got {n_tokens})")
    _check(n_samples, seq_len, n_features, min_features=n_tokens + 1)
    g = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n_samples, n_tokens, g)
    x = noise * torch.randn(n_samples, seq_len, n_features, generator=g)
    x[:, :, n_tokens] = 0.0  # marker channel: set at step 0 only
    x[:, 0, :] = 0.0
    x[torch.arange(n_samples), 0, y] = 1.0
    x[:, 0, n_tokens] = 1.0
    return _bundle("first-marked", x, y, seed, [f"token {i}" for i in range(n_tokens)],
                   n_samples=n_samples, seq_len=seq_len, n_features=n_features, n_tokens=n_tokens, noise=noise)
