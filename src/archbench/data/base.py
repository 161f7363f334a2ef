"""What every data set is, once loaded: three tensor splits and a description.

Whole splits live in memory as tensors (uint8 images, float sequences, int64 token ids) and a
batch is drawn by indexing them with a slice of a seeded permutation -- no per-sample
``__getitem__`` or PIL in the hot loop. ``DataBundle.preprocess`` turns a raw batch into model
input on the device (uint8 -> float, normalised with statistics of the training split).

Shapes
    image:    x (N, C, H, W) uint8 or float32        y (N,) int64
    sequence: x (N, T, F) float32                    y (N,) int64
    text:     x (N, T) int64 token ids, 0 = padding  y (N,) int64   lengths (N,)
    forecast: x (N, T, F) float32                    y (N, H) float32 (task="regression")
    table:    x (N, F) float32 encoded features      y (N,) int64, or (N, 1) float32 (regression)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

KINDS = ("image", "sequence", "text", "forecast", "table")


@dataclass
class Split:
    x: torch.Tensor
    y: torch.Tensor
    lengths: Optional[torch.Tensor] = None  # text only: tokens before padding

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device) -> "Split":
        lengths = None if self.lengths is None else self.lengths.to(device)
        return Split(self.x.to(device), self.y.to(device), lengths)

    def take(self, idx: torch.Tensor) -> "Split":
        lengths = None if self.lengths is None else self.lengths[idx]
        return Split(self.x[idx], self.y[idx], lengths)


@dataclass
class DataBundle:
    """A loaded data set. ``meta()`` is all a model needs to size itself."""

    name: str
    kind: str
    train: Split
    val: Split
    test: Split
    input_shape: Sequence[int]  # one sample, e.g. (1, 28, 28), (50, 1), (T,) for text
    num_classes: int  # classes, or forecast horizon for regression
    class_names: List[str] = field(default_factory=list)
    task: str = "classification"  # or "regression"
    mean: Optional[Sequence[float]] = None  # per channel (images) / feature, from train only
    std: Optional[Sequence[float]] = None
    vocab_size: Optional[int] = None  # text
    options: Dict[str, Any] = field(default_factory=dict)  # what rebuilds it (seq_len, ...)
    extras: Dict[str, Any] = field(default_factory=dict)  # tokenizer, scaler, ... (not JSON)

    def meta(self) -> Dict[str, Any]:
        m = {
            "kind": self.kind,
            "task": self.task,
            "input_shape": list(self.input_shape),
            "num_classes": int(self.num_classes),
        }
        if self.vocab_size is not None:
            m["vocab_size"] = int(self.vocab_size)
        return m

    def describe(self) -> Dict[str, Any]:
        """JSON-able summary that goes into config.json."""
        return {
            "name": self.name,
            **self.meta(),
            "sizes": {s: len(getattr(self, s)) for s in ("train", "val", "test")},
            "class_names": list(self.class_names),
            "mean": None if self.mean is None else [float(v) for v in self.mean],
            "std": None if self.std is None else [float(v) for v in self.std],
            "options": dict(self.options),
        }

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Raw batch -> model input, on whatever device x is on (images: uint8 -> normalised float)."""
        if self.kind != "image":
            return x
        x = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()
        if self.mean is not None:
            mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
            std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
            x = (x - mean) / std
        return x

    def take_batch(self, split: "Split", idx: torch.Tensor, device=None) -> Tuple[torch.Tensor, torch.Tensor]:
        """The model input and targets of ``split``'s examples ``idx``: indexed where the split lives,
        moved to ``device``, text trimmed to its longest sequence, images normalised.
        Returns (x, y): x (B, ...) ready for the model, y (B,) class ids or (B, horizon) targets."""
        where = idx.to(split.x.device)
        x = split.x[where].to(device or split.x.device, non_blocking=True)
        y = split.y[where].to(device or split.y.device, non_blocking=True)
        if split.lengths is not None:
            x = trim_padding(x, split.lengths[where.to(split.lengths.device)])
        return self.preprocess(x), y


def example_input(bundle: DataBundle, n: int = 2) -> torch.Tensor:
    """A real batch of model input from the test split (token ids for text, floats otherwise)."""
    return bundle.take_batch(bundle.test, torch.arange(min(n, len(bundle.test))))[0]


def channel_stats(x: torch.Tensor, chunk: int = 4096):
    """Per-channel mean and std of an (N, C, H, W) tensor on the [0, 1] scale, in chunks."""
    scale = 255.0 if x.dtype == torch.uint8 else 1.0
    c = x.shape[1]
    s = torch.zeros(c, dtype=torch.float64)
    s2 = torch.zeros(c, dtype=torch.float64)
    n = 0
    for i in range(0, x.shape[0], chunk):
        b = x[i : i + chunk].to(torch.float64) / scale
        s += b.sum(dim=(0, 2, 3))
        s2 += (b * b).sum(dim=(0, 2, 3))
        n += b.shape[0] * b.shape[2] * b.shape[3]
    mean = s / n
    std = (s2 / n - mean * mean).clamp_min(1e-12).sqrt()
    return mean.tolist(), std.tolist()


def split_off(n: int, fractions: Sequence[float], seed: int) -> List[torch.Tensor]:
    """Seeded random partition of range(n) into len(fractions) index tensors."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    sizes = [int(round(f * n)) for f in fractions[:-1]]
    sizes.append(n - sum(sizes))
    return list(torch.split(perm, sizes))


def batch_indices(
    n: int,
    batch_size: int,
    generator: Optional[torch.Generator] = None,
    shuffle: bool = True,
    drop_last: bool = False,
    lengths: Optional[torch.Tensor] = None,
    rank: int = 0,
    world: int = 1,
) -> List[torch.Tensor]:
    """Index tensors of the batches of one epoch.

    ``batch_size`` is the global batch; with ``world`` > 1 every rank sees the same global batches
    (same seeded permutation) and keeps its own contiguous share of each, so N ranks together take
    exactly the steps that one process would.

    With ``lengths`` (text) the order is bucketed: a shuffled permutation is cut into pools of 50
    batches, each pool sorted by length, so a batch holds sequences of similar length and padding
    costs little; batch order is then shuffled.
    """
    if shuffle:
        order = torch.randperm(n, generator=generator)
    else:
        order = torch.arange(n)
    if lengths is not None:
        pool = batch_size * 50
        chunks = [order[i : i + pool] for i in range(0, n, pool)]
        order = torch.cat([c[torch.argsort(lengths[c], stable=True)] for c in chunks])
    batches = list(torch.split(order, batch_size))
    if drop_last and len(batches) > 1 and len(batches[-1]) < batch_size:
        batches = batches[:-1]
    if lengths is not None and shuffle:
        perm = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i] for i in perm]
    if world > 1:
        batches = [b.tensor_split(world)[rank] for b in batches]
    return batches


def trim_padding(x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
    """Cut a padded token batch to its longest sequence (padding never reaches the model)."""
    if lengths is None or x.dim() != 2:
        return x
    return x[:, : max(int(lengths.max()), 1)]
