"""Scores for small and imbalanced data, beside plain accuracy: one function per task.

classification_scores(targets (N,) int, predictions (N,) int, num_classes)
    -> balanced_accuracy (mean recall over the classes present in the targets) and macro_f1
       (mean F1 over every class that is a target or a prediction)
regression_scores(outputs (N, H) float, targets (N, H) float)
    -> mae, rmse, r2 (1 - SSE / SST over every output, SST about the targets' mean per output)

Tensors or arrays; computed with one bincount, no per-sample Python.
"""
from __future__ import annotations

import math
from typing import Dict

import torch


def confusion(targets, predictions, num_classes: int) -> torch.Tensor:
    """(K, K) counts, rows true class, columns predicted class."""
    t = torch.as_tensor(targets, dtype=torch.int64).reshape(-1)
    p = torch.as_tensor(predictions, dtype=torch.int64).reshape(-1)
    k = max(int(num_classes), int(t.max()) + 1 if len(t) else 0, int(p.max()) + 1 if len(p) else 0, 1)
    return torch.bincount(t * k + p, minlength=k * k).reshape(k, k)


def classification_scores(targets, predictions, num_classes: int) -> Dict[str, float]:
    cm = confusion(targets, predictions, num_classes).double()
    tp, true, pred = cm.diag(), cm.sum(1), cm.sum(0)
    present = true > 0
    if not bool(present.any()):
        return {"balanced_accuracy": float("nan"), "macro_f1": float("nan")}
    recall = tp[present] / true[present]
    seen = present | (pred > 0)  # a class never a target nor predicted says nothing about the model
    f1 = 2 * tp[seen] / (true[seen] + pred[seen])
    return {"balanced_accuracy": float(recall.mean()), "macro_f1": float(f1.mean())}


def regression_scores(outputs, targets) -> Dict[str, float]:
    o = torch.as_tensor(outputs, dtype=torch.float64)
    t = torch.as_tensor(targets, dtype=torch.float64)
    o, t = o.reshape(len(o), -1), t.reshape(len(t), -1)
    if len(t) == 0:
        return {"mae": float("nan"), "rmse": float("nan"), "r2": float("nan")}
    err = o - t
    sse = float((err * err).sum())
    sst = float(((t - t.mean(0, keepdim=True)) ** 2).sum())
    return {"mae": float(err.abs().mean()), "rmse": math.sqrt(sse / err.numel()),
            "r2": 1.0 - sse / sst if sst > 0 else float("nan")}


__all__ = ["confusion", "classification_scores", "regression_scores"]
