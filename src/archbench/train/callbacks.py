"""Early stopping that restores the truly best weights, whatever ended the run.

Unlike ``state_dict().copy()`` (a shallow copy whose tensors keep training), the best weights are
cloned tensors. Its whole state -- best value, best epoch, wait counter, best weights -- goes into
the checkpoint, so a resumed run stops exactly where an uninterrupted one would.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional

import torch

from ..config import MONITORS
from ..errors import UsageError
from .checkpoint import model_state, unwrap


class EarlyStopping:
    def __init__(self, patience: int = 0, min_delta: float = 0.0, monitor: Optional[str] = "val_loss"):
        monitor = monitor or "val_loss"  # a TrainConfig that no recipe resolved leaves it None
        if monitor not in MONITORS:
            raise UsageError(f"unknown monitor {monitor!r}; choose from: {', '.join(MONITORS)}")
        self.patience, self.min_delta, self.monitor = patience, min_delta, monitor
        self.mode = "min" if monitor.endswith("_loss") else "max"
        self.best: Optional[float] = None
        self.best_epoch = -1
        self.wait = 0
        self.best_weights: Optional[Dict[str, torch.Tensor]] = None

    def improved(self, value: float) -> bool:
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, metrics: Dict[str, float], model, epoch: int) -> bool:
        """Record this epoch; return True when training should stop (patience 0 never stops)."""
        value = metrics[self.monitor]
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            self.best_weights = model_state(model)
        else:
            self.wait += 1
        return self.patience > 0 and self.wait >= self.patience

    def restore(self, model) -> bool:
        if self.best_weights is None:
            return False
        unwrap(model).load_state_dict(self.best_weights)
        return True

    def state_dict(self) -> Dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "best_weights": self.best_weights,
                "patience": self.patience, "min_delta": self.min_delta, "monitor": self.monitor}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.best_weights = state["best_weights"]
