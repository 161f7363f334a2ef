"""Training options of the notebook that sit beside the optimiser: the loss, an L1 penalty and the
warning for configs written when ``momentum`` meant Nesterov.

    build_loss(name, regression, label_smoothing=0.0, huber_delta=1.0) -> fn(out, y) -> scalar
        classification  out (B, C) logits, y (B,) int64 class ids or (B, C) float 0/1 (multi-label)
            "cross-entropy"  softmax over C, one class per example (y (B,) only)
            "bce"            a sigmoid per output: binary and multi-label; y (B,) becomes one-hot (B, C)
        regression (forecasts)  out, y (B, H) float
            "mse" | "l1" | "huber" (quadratic within huber_delta of the target, linear beyond)
        "auto": cross-entropy for classes, mse for forecasts (archbench's behaviour before the option)
    l1_penalty(model) -> sum of |w| over the weight tensors (ndim > 1), the same tensors weight decay
        decays: biases and norm scales are not penalised

Only the training loss changes: validation and test loss stay cross-entropy / MSE, so that early
stopping and the comparison tables measure every run alike.
"""
from __future__ import annotations

import sys
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import LOSSES
from ..errors import UsageError

CLASS_LOSSES = ("cross-entropy", "bce")
REGRESSION_LOSSES = ("mse", "l1", "huber")


def build_loss(name: str, regression: bool, label_smoothing: float = 0.0, huber_delta: float = 1.0,
               class_weight: Optional[torch.Tensor] = None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss ``name`` for the task; ``class_weight`` (C,) weighs cross-entropy's classes."""
    if name not in LOSSES:
        raise UsageError(f"unknown loss {name!r}; choose from: {', '.join(LOSSES)}")
    if name == "auto":
        name = "mse" if regression else "cross-entropy"
    fits = REGRESSION_LOSSES if regression else CLASS_LOSSES
    if name not in fits:
        task = "a forecast (regression)" if regression else "a classification"
        raise UsageError(f"loss {name!r} does not fit {task} task; choose from: auto, {', '.join(fits)}")
    if name == "cross-entropy":
        return nn.CrossEntropyLoss(weight=class_weight, label_smoothing=label_smoothing)
    if name == "mse":
        return nn.MSELoss()
    if name == "l1":
        return nn.L1Loss()
    if name == "huber":
        return nn.HuberLoss(delta=huber_delta)

    def bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # (B,) class ids -> one-hot (B, C): with 2 classes, one independent yes/no per output
        target = F.one_hot(y, out.shape[1]).to(out.dtype) if y.dim() == 1 else y.to(out.dtype)
        if label_smoothing:
            target = target * (1 - label_smoothing) + 0.5 * label_smoothing
        return F.binary_cross_entropy_with_logits(out, target)

    return bce


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """sum |w| over weight tensors (ndim > 1); a scalar on the model's device."""
    terms = [p.abs().sum() for p in model.parameters() if p.requires_grad and p.ndim > 1]
    return torch.stack(terms).sum() if terms else torch.zeros(())


_warned = set()


def warn_old_momentum(optimizer: str) -> None:
    """Once per process: ``momentum`` is plain (heavy-ball) momentum now; it used to mean Nesterov."""
    if optimizer != "momentum" or "momentum" in _warned:
        return
    _warned.add("momentum")
    print("archbench: note: optimizer 'momentum' is plain SGD momentum now; older configs and runs meant "
          "Nesterov by it: say 'nesterov' to keep that rule", file=sys.stderr, flush=True)
