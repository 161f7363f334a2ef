"""Optimisers and learning-rate schedulers by name (the notebook's 1.5 and 1.9).

``build_scheduler`` also says when to step it: after every batch ("batch"), after every epoch
("epoch"), or after every epoch with the validation loss ("plateau").
"""
from __future__ import annotations

from typing import Optional, Tuple

from torch import optim

from ..config import OPTIMIZERS, SCHEDULERS
from ..registry import check_choice


def build_optimizer(name: str, params, lr: float, weight_decay: float = 0.0, momentum: float = 0.9):
    check_choice("optimizer", name, OPTIMIZERS)
    params = list(params)
    if weight_decay and name != "adamw":
        # decay weights, not biases and norm scales (their decay only hurts)
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        params = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    # "momentum" is plain heavy-ball momentum (v = mu v + g; w -= lr v), "nesterov" looks ahead
    cls, kw = {"sgd": (optim.SGD, {}), "momentum": (optim.SGD, dict(momentum=momentum)),
               "nesterov": (optim.SGD, dict(momentum=momentum, nesterov=True)),
               "adam": (optim.Adam, {}), "adamw": (optim.AdamW, {})}[name]
    try:
        # one kernel per step for all parameters, instead of a loop of small ops per tensor (on a CPU the
        # default is that loop); same update rule, a faster step (docs/measurements.md, 'Recipe evidence')
        return cls(params, lr=lr, weight_decay=weight_decay, fused=True, **kw)
    except (RuntimeError, ValueError, TypeError):  # a device or dtype the fused kernels do not cover
        return cls(params, lr=lr, weight_decay=weight_decay, **kw)


def build_scheduler(name: str, optimizer, epochs: int, steps_per_epoch: int, lr: float,
                    step_size: Optional[int] = None, gamma: Optional[float] = None, plateau_patience: int = 3,
                    plateau_factor: float = 0.5, cosine_period: Optional[int] = None) -> Tuple[Optional[object], str]:
    """None for a parameter keeps the value archbench used before it could be set; ``cosine_period``
    is in epochs (stepped per batch)."""
    check_choice("scheduler", name, SCHEDULERS)
    total = max(1, epochs * steps_per_epoch)
    S = optim.lr_scheduler
    if name == "none":
        return None, "epoch"
    if name == "step":
        return S.StepLR(optimizer, step_size=step_size or max(1, epochs // 3),
                        gamma=0.1 if gamma is None else gamma), "epoch"
    if name == "exponential":  # default: 1% of lr at the end
        return S.ExponentialLR(optimizer, gamma=0.01 ** (1 / max(1, epochs)) if gamma is None else gamma), "epoch"
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=cosine_period * steps_per_epoch if cosine_period else total), "batch"
    if name == "plateau":
        return S.ReduceLROnPlateau(optimizer, mode="min", factor=plateau_factor, patience=plateau_patience), "plateau"
    if name == "onecycle":
        if total < 4:  # too short for a warm-up and an annealing phase: keep the rate constant
            return None, "epoch"
        # at least two warm-up steps: OneCycleLR divides by (warm-up steps - 1)
        return S.OneCycleLR(optimizer, max_lr=lr, total_steps=total, pct_start=max(0.25, 2.5 / total)), "batch"
    return S.CosineAnnealingWarmRestarts(optimizer, T_0=(cosine_period or max(1, epochs // 3)) * steps_per_epoch), "batch"


def current_lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])
