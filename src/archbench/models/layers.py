"""Small building blocks shared by several model families."""
from __future__ import annotations

import torch.nn as nn

from ..errors import UsageError

ACTIVATIONS = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU, "selu": nn.SELU,
    "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "silu": nn.SiLU, "swish": nn.SiLU, "softplus": nn.Softplus,
}


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise UsageError(f"unknown activation {name!r}; choose from: {', '.join(ACTIVATIONS)}") from None
