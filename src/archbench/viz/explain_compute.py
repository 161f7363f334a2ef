"""What explain computes before it draws: attention maps, positional encodings, which sections a model gets, predictions, the examples to show."""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from ..data.base import DataBundle, Split, trim_padding
from ..files import safe_name
from ..models.attention import capture_attention
from ..models.recurrent import RecurrentNet
from ..models.transformer import PositionalEncoding, positional_encoding
from .explain_images import conv_layers


def _capture_attention():  # optional: models/attention.py

    return capture_attention


def _positional_encoding_module():  # optional: models/transformer.py

    return PositionalEncoding, positional_encoding


def attention_maps(model: nn.Module, x: torch.Tensor) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
    """({module name: weights (B, heads, Lq, Lk) or (B, T)}, model outputs) for model input ``x``."""
    capture = _capture_attention()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), capture(model) as maps:
            out = model(x)
    finally:
        model.train(was_training)
    return {k: v.float().cpu() for k, v in maps.items()}, out.float().cpu()


def positional_encoding_for(model: nn.Module, bundle: DataBundle) -> torch.Tensor:
    """(L, d_model) table the model adds to its input: L = the data's sequence length (+1 for a CLS token)."""
    pos_cls, table = _positional_encoding_module()
    pos = next(m for m in model.modules() if isinstance(m, pos_cls))
    length = int(bundle.input_shape[0]) + (1 if hasattr(model, "cls_token") else 0)
    return table(length, pos.d_model)


def _has_attention(model: nn.Module) -> bool:
    return any(hasattr(m, "keep_attention") and hasattr(m, "last_attention") for m in model.modules())


def _has_positions(model: nn.Module) -> bool:
    try:
        pos_cls, _ = _positional_encoding_module()
    except ImportError:
        return False
    return any(isinstance(m, pos_cls) for m in model.modules())


def plan_sections(model: nn.Module, bundle: DataBundle) -> List[str]:
    """Which sections apply: "conv", "mlp", "attention", "positions", "gradients" (empty: unsupported)."""
    plan = []
    if bundle.kind == "image":
        if conv_layers(model):
            plan.append("conv")
        else:
            first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
            if first is not None and first.in_features == math.prod(bundle.input_shape):
                plan.append("mlp")
    if _has_attention(model):
        plan.append("attention")
    if _has_positions(model):
        plan.append("positions")
    if isinstance(model, (RecurrentNet, nn.RNNBase)) or any(isinstance(m, nn.RNNBase) for m in model.modules()):
        plan.append("gradients")
    return plan


@torch.no_grad()
def predict(model: nn.Module, bundle: DataBundle, split: Split, batch: int = 512) -> torch.Tensor:
    """Model outputs (N, K) on a whole split, in batches (eval mode, on the model's device)."""
    dev = next(model.parameters()).device
    model.eval()
    outs = []
    for i in range(0, len(split), batch):
        xb = split.x[i:i + batch]
        if split.lengths is not None:
            xb = trim_padding(xb, split.lengths[i:i + batch])
        outs.append(model(bundle.preprocess(xb.to(dev))).float().cpu())
    return torch.cat(outs)


def choose_examples(y: torch.Tensor, n: int, seed: int, pool: Optional[torch.Tensor] = None) -> torch.Tensor:
    """n test indices, seeded: one per class first (class order), then others; plain draws for regression."""
    g = torch.Generator().manual_seed(seed)
    cand = torch.arange(len(y)) if pool is None else pool
    cand = cand[torch.randperm(len(cand), generator=g)]
    if y.dim() != 1 or y.is_floating_point():
        return cand[:n]
    _, first = np.unique(y[cand].numpy(), return_index=True)
    lead = cand[torch.as_tensor(first, dtype=torch.long)]
    rest = cand[~torch.isin(cand, lead)]
    return torch.cat([lead, rest])[:n]


def _safe(name: str) -> str:
    return safe_name(name, keep="-_", limit=200).strip("_") or "model"


def _class(bundle: DataBundle, k: int) -> str:
    return bundle.class_names[k] if k < len(bundle.class_names) else str(k)


def _row_titles(bundle: DataBundle, idx: torch.Tensor, outputs: torch.Tensor) -> List[str]:
    if bundle.task != "classification":
        return [f"test #{int(i)}" for i in idx]
    probs = outputs.softmax(-1)
    conf, pred = probs.max(-1)
    return [f"test #{int(i)}: true {_class(bundle, int(bundle.test.y[i]))}, "
            f"predicted {_class(bundle, int(p))} ({100 * float(c):.0f}%)" for i, p, c in zip(idx, pred, conf)]
