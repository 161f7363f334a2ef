"""Evaluation: loss, accuracy or MAE/RMSE of a model on a split, in batches, under torch.inference_mode."""
from __future__ import annotations

import math
from typing import Any, Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.base import DataBundle, Split
from .runtime import Runtime


def is_regression(bundle: DataBundle) -> bool:
    return bundle.task == "regression"


@torch.inference_mode()
def evaluate(model: nn.Module, bundle: DataBundle, split: Split, rt: Runtime, batch_size: int = 1024,
             outputs: bool = False) -> Dict[str, Any]:
    """Mean loss weighted by samples, accuracy (or MAE/RMSE), and optionally predictions.

    Under DDP each rank evaluates a contiguous share and the sums are all-reduced; with
    ``outputs=True`` evaluate alone (rank 0), since predictions are not gathered.
    """
    model.eval()
    n_all = len(split)
    idx = torch.arange(n_all)
    if split.lengths is not None:  # similar lengths together: less padding to compute
        idx = torch.argsort(split.lengths.cpu(), stable=True)
    if rt.distributed and not outputs:
        idx = idx.tensor_split(rt.world)[rt.rank]
    regression = is_regression(bundle)
    loss_sum = torch.zeros((), dtype=torch.float64, device=rt.device)
    hit_sum = torch.zeros((), dtype=torch.float64, device=rt.device)
    sq_sum = torch.zeros((), dtype=torch.float64, device=rt.device)
    outs, order = [], []
    for chunk in idx.split(batch_size):
        x, y = bundle.take_batch(split, chunk, rt.device)
        with rt.autocast():
            out = model(x)
        out = out.float()
        if regression:
            err = out - y
            loss_sum += (err * err).mean(dim=1).sum()
            hit_sum += err.abs().mean(dim=1).sum()  # MAE numerator
            sq_sum += (err * err).mean(dim=1).sum()
        else:
            loss_sum += F.cross_entropy(out, y, reduction="sum")
            hit_sum += (out.argmax(1) == y).sum()
        if outputs:
            outs.append(out.cpu())
            order.append(chunk)
    n = float(len(idx))
    loss_sum, hit_sum, sq_sum, n = rt.all_sum(float(loss_sum), float(hit_sum), float(sq_sum), n) if not outputs \
        else (float(loss_sum), float(hit_sum), float(sq_sum), n)
    n = max(n, 1.0)
    res: Dict[str, Any] = {"loss": loss_sum / n, "n": int(n)}
    if regression:
        res.update(mae=hit_sum / n, rmse=math.sqrt(sq_sum / n))
    else:
        res["accuracy"] = hit_sum / n
    if outputs:
        out = torch.cat(outs)
        back = torch.empty_like(out)
        back[torch.cat(order)] = out  # undo the length sort
        res["outputs"] = back
        res["targets"] = split.y.cpu()
        if not regression:
            res["predictions"] = back.argmax(1)
            res["probabilities"] = back.softmax(1)
    return res
