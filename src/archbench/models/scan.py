"""``nn.RNN`` (tanh) and ``nn.GRU`` on a CPU, with the backward through time written out.

On a CPU PyTorch runs these two step by step through autograd (oneDNN fuses only the LSTM), so
every step of the backward is a dozen small autograd nodes. Here each layer is one autograd
Function: the forward keeps the gates it needs, the backward runs the recurrence for dL/dh alone
(per step one matrix product and two elementwise ops) and computes the weight gradients for all
steps at once, as cuDNN does. Same parameters, same numbers to rounding (tests/test_cells.py);
a training step of the seq-sum ``rnn`` or ``gru`` costs less (benchmarks/cpu_scan.py; docs/measurements.md).

Shapes, time-major inside: gi (T, B, G*H) = x W_ih^T + b_ih for all steps, w_hh (G*H, H), h0 (B, H)
-> out (T, B, H), every step's hidden state. Equations as in cells.py (torch's gate order).
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class _RNNScan(torch.autograd.Function):
    """h_t = tanh(gi_t + W_hh h_{t-1}); gi already holds both biases."""

    @staticmethod
    def forward(ctx, gi, w_hh, h0):
        T, B, H = gi.shape
        out, wt, h = gi.new_empty(T, B, H), w_hh.t(), h0
        for t in range(T):
            h = torch.addmm(gi[t], h, wt, out=out[t]).tanh_()
        ctx.save_for_backward(w_hh, h0, out)
        return out

    @staticmethod
    def backward(ctx, dout):
        w_hh, h0, out = ctx.saved_tensors
        T, B, H = out.shape
        dout = dout.contiguous()
        slope = 1 - out * out  # tanh'
        dpre = out.new_empty(T, B, H)  # dL/d(pre-activation) of every step
        dh = dout[T - 1]
        for t in range(T - 1, 0, -1):
            p = torch.mul(dh, slope[t], out=dpre[t])
            dh = torch.addmm(dout[t - 1], p, w_hh)
        dh0 = torch.mul(dh, slope[0], out=dpre[0]) @ w_hh
        h_prev = torch.cat([h0[None], out[:-1]]).view(T * B, H)
        return dpre, dpre.view(T * B, H).t() @ h_prev, dh0


class _GRUScan(torch.autograd.Function):
    """r, z = sigma(gi_rz + gh_rz); n = tanh(gi_n + r * gh_n); h' = n + z (h - n), gh = W_hh h + b_hh."""

    @staticmethod
    def forward(ctx, gi, w_hh, b_hh, h0):
        T, B, G = gi.shape
        H = G // 3
        out, rz, n, gh = gi.new_empty(T, B, H), gi.new_empty(T, B, 2 * H), gi.new_empty(T, B, H), gi.new_empty(T, B, G)
        wt, h = w_hh.t(), h0
        for t in range(T):
            g = torch.addmm(b_hh, h, wt, out=gh[t])
            gates = torch.add(gi[t, :, :2 * H], g[:, :2 * H], out=rz[t]).sigmoid_()
            cand = torch.addcmul(gi[t, :, 2 * H:], gates[:, :H], g[:, 2 * H:], out=n[t]).tanh_()
            h = torch.lerp(cand, h, gates[:, H:], out=out[t])
        ctx.save_for_backward(w_hh, h0, out, rz, n, gh)
        return out

    @staticmethod
    def backward(ctx, dout):
        w_hh, h0, out, rz, n, gh = ctx.saved_tensors
        T, B, H = out.shape
        dout = dout.contiguous()
        h_prev = torch.cat([h0[None], out[:-1]])
        r, z, gh_n = rz[..., :H], rz[..., H:], gh[..., 2 * H:]
        # dL/dgh_t = dL/dh_t * coef_t for the r, z and n thirds, coef known from the forward for every step
        dn = (1 - z) * (1 - n * n)  # dh'/d(gi_n + r * gh_n)
        coef = torch.cat([dn * gh_n * r * (1 - r), (h_prev - n) * z * (1 - z), dn * r], -1).view(T, B, 3, H)
        dgh, dh_all = out.new_empty(T, B, 3, H), out.new_empty(T, B, H)
        dh = dh_all[T - 1].copy_(dout[T - 1])
        for t in range(T - 1, 0, -1):
            g = torch.mul(dh[:, None], coef[t], out=dgh[t]).view(B, 3 * H)
            dh = torch.addmm(torch.addcmul(dout[t - 1], dh, z[t]), g, w_hh, out=dh_all[t - 1])
        g = torch.mul(dh[:, None], coef[0], out=dgh[0]).view(B, 3 * H)
        dh0 = torch.addmm(dh * z[0], g, w_hh)
        dgh = dgh.view(T, B, 3 * H)
        dgi = dgh.clone()
        dgi[..., 2 * H:] = dh_all * dn  # the input's n third is not scaled by r
        dw = dgh.view(T * B, 3 * H).t() @ h_prev.view(T * B, H)
        return dgi, dw, dgh.sum((0, 1)), dh0


def scan_applies(rnn: nn.Module, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> bool:
    """The fast path covers torch's tanh RNN and GRU on CPU tensors in fp32/fp64, unpadded, biased."""
    return (type(rnn) in (nn.RNN, nn.GRU) and rnn.mode in ("RNN_TANH", "GRU") and rnn.bias and rnn.batch_first
            and lengths is None and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
            and not torch.is_autocast_enabled("cpu")
            and not torch.jit.is_tracing())  # ONNX export traces torch's own RNN ops, not the scan's loop


def run_scan(rnn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """x (B, T, F) -> (B, T, D*H) with ``rnn``'s own parameters (inter-layer dropout included)."""
    gru = rnn.mode == "GRU"
    xt = x.transpose(0, 1)  # (T, B, F): each step's rows contiguous
    h0 = x.new_zeros(x.shape[0], rnn.hidden_size)
    for layer in range(rnn.num_layers):
        if layer and rnn.dropout:
            xt = F.dropout(xt, rnn.dropout, rnn.training)
        outs = []
        for reverse in ((False, True) if rnn.bidirectional else (False,)):
            sfx = f"_l{layer}" + ("_reverse" if reverse else "")
            w_ih, w_hh, b_ih, b_hh = (getattr(rnn, name + sfx) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            inp = xt.flip(0) if reverse else xt
            if gru:
                o = _GRUScan.apply(F.linear(inp, w_ih, b_ih), w_hh, b_hh, h0)
            else:
                o = _RNNScan.apply(F.linear(inp, w_ih, b_ih + b_hh), w_hh, h0)
            outs.append(o.flip(0) if reverse else o)
        xt = torch.cat(outs, -1) if len(outs) > 1 else outs[0]
    return xt.transpose(0, 1)
