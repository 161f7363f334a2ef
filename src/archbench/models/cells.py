"""RNN, LSTM and GRU layers written out from their gate equations (the notebook's Parts 4-5).

Drop-in for ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` with ``batch_first=True``: same constructor
arguments, same parameter names and layouts (``weight_ih_l{k}[_reverse]`` (G*H, in),
``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}``), so a state_dict moves between
the two and both compute the same numbers (tests/test_cells.py proves it, outputs and gradients).

Shapes: x (B, T, F) -> out (B, T, D*H), h_n (L*D, B, H) [LSTM: (h_n, c_n)], D = 2 if bidirectional.

Gate equations, per step (sigma = sigmoid, * = elementwise), with torch's gate order:

    RNN   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
    LSTM  i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh)        G = 4
          c' = sigma(f) * c + sigma(i) * tanh(g);   h' = sigma(o) * tanh(c')
    GRU   r, z, n from W_ih x + b_ih and W_hh h + b_hh              G = 3
          r = sigma(x_r + h_r);  z = sigma(x_z + h_z);  n = tanh(x_n + r * h_n)
          h' = (1 - z) * n + z * h
    (the notebook writes GRU with z and 1 - z swapped; torch's convention is used so weights load.)

``lengths`` (B,) makes padded batches behave like ``pack_padded_sequence``: the state stops at
each sequence's end, the reverse direction starts at its last real step, and outputs past the
end are zero. :func:`run_recurrent` applies the same to a torch layer by packing.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .scan import run_scan, scan_applies

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def rnn_step(xp: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: Optional[torch.Tensor], relu: bool = False):
    """One RNN step; ``xp`` = W_ih x + b_ih, precomputed for all steps at once."""
    pre = xp + F.linear(h, w_hh, b_hh)
    return torch.relu(pre) if relu else torch.tanh(pre)


def lstm_step(xp, h, c, w_hh, b_hh):
    i, f, g, o = (xp + F.linear(h, w_hh, b_hh)).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def gru_step(xp, h, w_hh, b_hh):
    x_r, x_z, x_n = xp.chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)  # the reset gate scales the hidden contribution, bias included
    return n + z * (h - n)  # = (1 - z) * n + z * h


def reverse_padded(x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
    """Reverse each sequence within its own length (padding stays at the end); self-inverse."""
    if lengths is None:
        return x.flip(1)
    t = torch.arange(x.shape[1], device=x.device)
    lengths = lengths.to(x.device)
    idx = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)  # (B, T)
    return x.gather(1, idx[:, :, None].expand_as(x))


class Recurrent(nn.Module):
    """A stack of recurrent layers run step by step in Python (autograd does the backward)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False):
        super().__init__()
        if mode not in GATES:
            raise ValueError(f"unknown recurrent mode {mode!r}")
        if not batch_first:
            raise ValueError("only batch_first=True is supported")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.dropout = num_layers, bias, float(dropout)
        self.batch_first, self.bidirectional = True, bidirectional
        gh = GATES[mode] * hidden_size
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * self.num_directions
            for sfx in self._suffixes(layer):
                self.register_parameter("weight_ih" + sfx, nn.Parameter(torch.empty(gh, in_size)))
                self.register_parameter("weight_hh" + sfx, nn.Parameter(torch.empty(gh, hidden_size)))
                if bias:
                    self.register_parameter("bias_ih" + sfx, nn.Parameter(torch.empty(gh)))
                    self.register_parameter("bias_hh" + sfx, nn.Parameter(torch.empty(gh)))
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer: int):
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)  # torch's initialisation
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _weights(self, sfx: str):
        get = lambda n: getattr(self, n + sfx, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _direction(self, x, sfx, h, c, lengths):
        """Run one direction of one layer over x (B, T, in) from state h (and c); returns out, h, c."""
        w_ih, w_hh, b_ih, b_hh = self._weights(sfx)
        xp = F.linear(x, w_ih, b_ih)  # input projections of every step in one matmul
        steps = xp.unbind(1)
        alive = None if lengths is None else (torch.arange(x.shape[1], device=x.device)[:, None] < lengths.to(x.device))
        outs = []
        for t, xt in enumerate(steps):
            if self.mode == "lstm":
                h_new, c_new = lstm_step(xt, h, c, w_hh, b_hh)
            elif self.mode == "gru":
                h_new, c_new = gru_step(xt, h, w_hh, b_hh), None
            else:
                h_new, c_new = rnn_step(xt, h, w_hh, b_hh, relu=self.mode == "rnn_relu"), None
            if alive is not None:  # past a sequence's end: keep its state, output zero
                m = alive[t][:, None]
                h_new = torch.where(m, h_new, h)
                c_new = None if c is None else torch.where(m, c_new, c)
                outs.append(h_new * m)
            else:
                outs.append(h_new)
            h, c = h_new, c_new
        return torch.stack(outs, 1), h, c

    def forward(self, x: torch.Tensor, hx=None, lengths: Optional[torch.Tensor] = None):
        B = x.shape[0]
        n_states = self.num_layers * self.num_directions
        zeros = x.new_zeros(n_states, B, self.hidden_size)
        if self.mode == "lstm":
            h0, c0 = hx if hx is not None else (zeros, zeros)
        else:
            h0, c0 = (hx if hx is not None else zeros), None
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            outs = []
            for d, sfx in enumerate(self._suffixes(layer)):
                k = layer * self.num_directions + d
                xin = x if d == 0 else reverse_padded(x, lengths)
                out, h, c = self._direction(xin, sfx, h0[k], None if c0 is None else c0[k], lengths)
                outs.append(out if d == 0 else reverse_padded(out, lengths))
                h_n.append(h)
                c_n.append(c)
            x = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
        h_n = torch.stack(h_n)
        return (x, (h_n, torch.stack(c_n))) if self.mode == "lstm" else (x, h_n)

    def extra_repr(self) -> str:
        return (f"{self.mode}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"dropout={self.dropout}, bidirectional={self.bidirectional}")


class RNN(Recurrent):
    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=True,
                 dropout=0.0, bidirectional=False):
        super().__init__(f"rnn_{nonlinearity}", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional)


class LSTM(Recurrent):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=True, dropout=0.0,
                 bidirectional=False):
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)


class GRU(Recurrent):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=True, dropout=0.0,
                 bidirectional=False):
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)


SCRATCH = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def make_recurrent(cell: str, impl: str, input_size: int, hidden_size: int, num_layers: int = 1,
                   dropout: float = 0.0, bidirectional: bool = False) -> nn.Module:
    """``cell`` in rnn|lstm|gru, ``impl`` "fused" (torch/cuDNN) or "scratch" (this file); same parameters."""
    cls = (FUSED if impl == "fused" else SCRATCH)[cell]
    return cls(input_size, hidden_size, num_layers=num_layers, batch_first=True,
               dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional)


def run_recurrent(rnn: nn.Module, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Outputs (B, T, D*H) of either implementation, honouring ``lengths`` (None = all T steps real)."""
    if isinstance(rnn, Recurrent):
        return rnn(x, lengths=lengths)[0]
    if scan_applies(rnn, x, lengths):  # torch's CPU RNN/GRU with a fused backward (scan.py)
        return run_scan(rnn, x)
    if lengths is None:
        return rnn(x)[0]
    packed = pack_padded_sequence(x, lengths.cpu().clamp_min(1), batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=x.shape[1])[0]

