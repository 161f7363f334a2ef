"""Weight initialisation by name (the notebook's 1.6): applied to every Linear and Conv layer."""
from __future__ import annotations

import torch.nn as nn

from ..errors import UsageError

INITS = ("default", "kaiming", "kaiming_uniform", "xavier", "xavier_uniform", "normal", "uniform", "zeros", "orthogonal")


def init_weights(module: nn.Module, scheme: str = "kaiming", nonlinearity: str = "relu") -> None:
    if scheme not in INITS:
        raise UsageError(f"unknown initialisation {scheme!r}; choose from: {', '.join(INITS)}")
    if scheme == "default":
        return
    nl = "relu" if nonlinearity not in ("relu", "leaky_relu", "tanh", "sigmoid", "selu", "linear") else nonlinearity
    for m in module.modules():
        if not isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            continue
        w = m.weight
        if scheme == "kaiming":
            # fan_out for convolutions keeps the backward signal's scale (He et al.), as the notebook does
            nn.init.kaiming_normal_(w, mode="fan_out" if isinstance(m, nn.Conv2d) else "fan_in", nonlinearity=nl)
        elif scheme == "kaiming_uniform":
            nn.init.kaiming_uniform_(w, nonlinearity=nl)
        elif scheme == "xavier":
            nn.init.xavier_normal_(w)
        elif scheme == "xavier_uniform":
            nn.init.xavier_uniform_(w)
        elif scheme == "normal":
            nn.init.normal_(w, 0.0, 0.01)
        elif scheme == "uniform":
            nn.init.uniform_(w, -0.05, 0.05)
        elif scheme == "zeros":
            nn.init.zeros_(w)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(w)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
