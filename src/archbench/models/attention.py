"""Attention from scratch (the notebook's Part 6), and a way to see its weights.

    scaled_dot_product_attention(q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv))
        -> out (..., Lq, dv), weights (..., Lq, Lk)          softmax(q k^T / sqrt(d)) v
    MultiHeadAttention(E, H)(x (B, L, E)) -> out (B, L, E), weights (B, H, L, L)
    AttentionPooling(E)(h (B, T, E), mask (B, T)) -> (B, E), keeps weights (B, T)

Masks follow the torch function they stand in for, so each is a drop-in:
``scaled_dot_product_attention`` like ``F.scaled_dot_product_attention`` (bool True = may attend,
or a float mask added to the scores); ``MultiHeadAttention`` like ``nn.MultiheadAttention``
(``key_padding_mask`` (B, Lk) True = padding; ``attn_mask`` (Lq, Lk) or (B*H, Lq, Lk), bool True =
blocked, or float added). MultiHeadAttention's parameters are named and shaped like
nn.MultiheadAttention's (``in_proj_weight`` (3E, E), ``in_proj_bias``, ``out_proj``), so the
same state_dict loads into both.

Any module with a ``keep_attention`` attribute stores its last weights in ``last_attention``;
``with capture_attention(model) as maps: model(x)`` switches that on everywhere and collects
module name -> weights.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import check_choice


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None,
                                 dropout_p: float = 0.0, training: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(d) + mask) v; returns (out, weights before dropout)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        if mask.dtype == torch.bool:
            # the most negative finite number, not -inf: a row with every key blocked becomes
            # uniform instead of NaN, and a blocked key still gets exactly zero weight otherwise
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + mask
    weights = scores.softmax(dim=-1)
    dropped = F.dropout(weights, dropout_p, training) if dropout_p > 0 else weights
    return dropped @ v, weights


def fused_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None,
                    dropout_p: float = 0.0) -> torch.Tensor:
    """``F.scaled_dot_product_attention``, but in fp32 on a CPU when q is bf16 or fp16 (autocast):
    torch's CPU flash attention (forward + backward) in bf16 is much slower than in fp32 at the small
    head sizes (8-16) of these models (benchmarks/cpu_attention.py; docs/measurements.md)."""
    if q.device.type != "cpu" or q.dtype not in (torch.bfloat16, torch.float16):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    if mask is not None and mask.dtype != torch.bool:
        mask = mask.float()
    with torch.autocast("cpu", enabled=False):
        out = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask, dropout_p=dropout_p)
    return out.to(q.dtype)


def merge_masks(attn_mask: Optional[torch.Tensor], key_padding_mask: Optional[torch.Tensor], batch: int, heads: int,
                dtype: torch.dtype) -> Optional[torch.Tensor]:
    """nn.MultiheadAttention's two masks (True = blocked) -> one in F.sdpa's convention (True = attend),
    broadcastable to (B, H, Lq, Lk); float if either mask is float."""
    masks = []
    if attn_mask is not None:
        masks.append(attn_mask if attn_mask.dim() == 2 else attn_mask.view(batch, heads, *attn_mask.shape[-2:]))
    if key_padding_mask is not None:
        masks.append(key_padding_mask[:, None, None, :])
    if not masks:
        return None
    if all(m.dtype == torch.bool for m in masks):
        blocked = masks[0] if len(masks) == 1 else masks[0] | masks[1]
        return ~blocked
    neg = torch.finfo(dtype).min
    total = 0
    for m in masks:
        total = total + (torch.zeros(m.shape, dtype=dtype, device=m.device).masked_fill(m, neg)
                         if m.dtype == torch.bool else m.to(dtype))
    return total


class MultiHeadAttention(nn.Module):
    """Multi-head attention, batch first; ``impl`` "scratch" (the function above) or "fused"
    (``F.scaled_dot_product_attention``: flash/memory-efficient kernels, no weights -- so when
    weights are asked for, the scratch path runs instead)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 impl: str = "scratch", keep_attention: bool = False):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout = float(dropout)
        self.impl = check_choice("attention impl", impl, ("scratch", "fused"))
        self.keep_attention = keep_attention
        self.last_attention: Optional[torch.Tensor] = None
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)  # as nn.MultiheadAttention
        if bias:
            nn.init.zeros_(self.out_proj.bias)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, E) -> (B, H, L, E/H)
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, query: torch.Tensor, key: Optional[torch.Tensor] = None, value: Optional[torch.Tensor] = None,
                key_padding_mask: Optional[torch.Tensor] = None, attn_mask: Optional[torch.Tensor] = None,
                need_weights: bool = True) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        key = query if key is None else key
        value = key if value is None else value
        if key is query and value is query:  # self-attention: one (E -> 3E) product instead of three
            q, k, v = (self._heads(t) for t in F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1))
        else:
            w_q, w_k, w_v = self.in_proj_weight.chunk(3)
            b_q, b_k, b_v = self.in_proj_bias.chunk(3) if self.in_proj_bias is not None else (None, None, None)
            q = self._heads(F.linear(query, w_q, b_q))
            k = self._heads(F.linear(key, w_k, b_k))
            v = self._heads(F.linear(value, w_v, b_v))
        mask = merge_masks(attn_mask, key_padding_mask, query.shape[0], self.num_heads, q.dtype)
        p = self.dropout if self.training else 0.0
        weights = None
        if self.impl == "fused" and not (need_weights or self.keep_attention):
            out = fused_attention(q, k, v, mask, p)
        else:
            out, weights = scaled_dot_product_attention(q, k, v, mask, p, self.training)
        if self.keep_attention:
            self.last_attention = weights.detach()
        out = out.transpose(1, 2).reshape(query.shape[0], query.shape[1], self.embed_dim)
        return self.out_proj(out), weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, impl={self.impl}"


class AttentionPooling(nn.Module):
    """Additive attention over time steps (the notebook's Exercise 4.1): a score per step
    w2 . tanh(W1 h_t), softmax over the real steps, weighted sum. Always keeps its weights
    (B, T) in ``last_attention`` -- they are small and are what one wants to look at."""

    def __init__(self, dim: int, hidden: int = 0):
        super().__init__()
        hidden = hidden or dim
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1, bias=False))
        self.keep_attention = True
        self.last_attention: Optional[torch.Tensor] = None

    def forward(self, h: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """h (B, T, E), mask (B, T) True = real step -> (B, E)."""
        scores = self.score(h).squeeze(-1)  # (B, T)
        if mask is not None:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = scores.softmax(dim=-1)
        if self.keep_attention:
            self.last_attention = weights.detach()
        return (weights.unsqueeze(-1) * h).sum(1)


@contextmanager
def capture_attention(model: nn.Module) -> Iterator[Dict[str, torch.Tensor]]:
    """Within the block, every attention module of ``model`` keeps its weights; the yielded dict
    maps module name -> weights of its latest forward (detached, on the model's device)."""
    maps: Dict[str, torch.Tensor] = {}
    saved, hooks = [], []
    for name, m in model.named_modules():
        if hasattr(m, "keep_attention") and hasattr(m, "last_attention"):
            saved.append((m, m.keep_attention))
            m.keep_attention = True

            def hook(mod, args, out, name=name):
                if mod.last_attention is not None:
                    maps[name] = mod.last_attention

            hooks.append(m.register_forward_hook(hook))
    try:
        yield maps
    finally:
        for h in hooks:
            h.remove()
        for m, keep in saved:
            m.keep_attention = keep
