"""The learning-rate range test (Smith 2015, "Cyclical learning rates"; fastai's ``lr_find``), on the Trainer.

``range_test`` drives ``Trainer.train_step`` (the one training step: augmentation, memory format,
clipping, the compile fallback) for ``steps`` optimiser steps while the learning rate grows
exponentially from ``start`` to ``end``: lr_i = start * (end / start) ** (i / (steps - 1)).
The loss first barely moves (lr too small), then falls fast, then blows up (lr too large).
The raw per-batch loss is noisy, so it is smoothed with a bias-corrected exponential moving
average; the test stops once the smoothed loss exceeds 4x its minimum.

Suggestion: the lr where the smoothed loss falls fastest per decade of lr (the steepest negative
slope d loss / d log10 lr), looked for only before the minimum -- the minimum itself is already
on the edge of divergence. The slope is taken over a window of a tenth of a decade on each side,
which makes it insensitive to single noisy batches. When the curve has no usable descent (the
minimum comes within the first few steps) the suggestion falls back to min_lr / 10.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Tuple

import numpy as np

from ..errors import DivergedError, UsageError
from .loop import Trainer

BETA = 0.9  # EMA of the loss: about a 10-step window (0.98 lags 50 steps, half of a 100-step test)


DIVERGE = 4.0  # stop once the smoothed loss exceeds this multiple of its minimum


SKIP = 3  # first steps ignored when looking for the descent (bias-corrected EMA of 1-3 points)


def smooth(losses: List[float], beta: float = BETA) -> List[float]:
    """Exponential moving average with bias correction (so early values are not pulled to 0)."""
    out, avg = [], 0.0
    for i, v in enumerate(losses):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest(lrs: List[float], smoothed: List[float]) -> Dict[str, Any]:
    """{"suggestion", "steepest", "min_lr", "method"} from a (possibly early-stopped) curve."""
    s = np.asarray(smoothed, dtype=np.float64)
    logs = np.log10(np.asarray(lrs, dtype=np.float64))
    i_min = int(np.nanargmin(s))
    min_lr = float(lrs[i_min])
    steepest = None
    if i_min > SKIP + 1:
        per_decade = (len(lrs) - 1) / max(logs[-1] - logs[0], 1e-12) if len(lrs) > 1 else 1.0
        k = max(1, int(round(0.1 * per_decade)))  # +-0.1 decade
        idx = np.arange(SKIP, i_min)
        lo, hi = np.clip(idx - k, 0, i_min), np.clip(idx + k, 0, i_min)
        slope = (s[hi] - s[lo]) / np.maximum(logs[hi] - logs[lo], 1e-12)
        if np.isfinite(slope).any() and np.nanmin(slope) < 0:
            steepest = float(lrs[int(idx[int(np.nanargmin(slope))])])
    if steepest is not None:
        return {"suggestion": steepest, "steepest": steepest, "min_lr": min_lr, "method": "steepest"}
    fallback = max(min_lr / 10, float(lrs[0]))
    return {"suggestion": fallback, "steepest": None, "min_lr": min_lr, "method": "min/10"}


def range_test(trainer: Trainer, start: float, end: float, steps: int) -> Tuple[List[float], List[float]]:
    """(lrs, losses) of up to ``steps`` training steps of ``trainer`` at exponentially growing rates.

    The trainer's own scheduler is switched off; its seeded batch order and random streams are used
    epoch after epoch (small data sets cycle), so the same config gives the same curve."""
    trainer.scheduler = None
    trainer.reset_sums()
    ratio = end / start
    lrs: List[float] = []
    losses: List[float] = []
    best, avg, epoch = math.inf, 0.0, 0
    batches: List[Any] = []
    for i in range(steps):
        if not batches:
            batches = trainer.epoch_batches(epoch)
            trainer._seed_epoch(epoch)
            epoch += 1
        lr = start * ratio ** (i / (steps - 1))
        for group in trainer.optimizer.param_groups:
            group["lr"] = lr
        try:
            value = float(trainer.train_step(batches.pop(0)))
        except DivergedError:  # the loss blew up: the curve ends here
            break
        lrs.append(lr)
        losses.append(value)
        avg = BETA * avg + (1 - BETA) * value
        s = avg / (1 - BETA ** len(losses))  # the same as smooth(losses)[-1]
        best = min(best, s)
        if i > SKIP and s > DIVERGE * best:
            break
    if len(losses) < 2:
        raise UsageError(f"the lr range test diverged at once (lr {start:g}); try a smaller start")
    return lrs, losses
