"""Multi-layer perceptron (the notebook's "ANN", Part 2).

Input of any shape is flattened: (B, *input_shape) -> (B, prod(input_shape)) -> ... -> (B, classes).
Default: 784-512-256-10 on MNIST, ReLU, dropout 0.2, Kaiming initialisation.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn

from . import register_model
from .init import init_weights
from .layers import activation as make_activation

MLP_RECIPE = {
    "image": dict(optimizer="adamw", lr=2e-3, weight_decay=5e-4, scheduler="onecycle", epochs=12,
                  batch_size=256, patience=0, augment="none", label_smoothing=0.0),
    "digits": dict(epochs=30, batch_size=64, lr=3e-3),
    "sequence": dict(optimizer="adam", lr=1e-3, scheduler="onecycle", epochs=20, batch_size=64),
    # own tables (table:PATH): many short epochs, early stopping on validation loss with the best
    # weights restored; the choice and its evidence are in docs/measurements.md
    "table": dict(optimizer="adamw", lr=1e-3, weight_decay=1e-3, scheduler="none", epochs=300, batch_size=64,
                  patience=25, augment="none", label_smoothing=0.0, hidden_sizes=[512, 256], dropout=0.3),
}


@register_model(
    "mlp", kinds=("image", "sequence", "table"), family="mlp",
    summary="fully connected layers (the notebook's ANN: 784-512-256-10, dropout 0.2)",
    recipe=MLP_RECIPE,
    search_space={"lr": ("log", 1e-4, 1e-2), "width": ("int", 64, 1024), "depth": ("int", 1, 4),
                  "dropout": ("float", 0.0, 0.5)},
)
class MLP(nn.Module):
    def __init__(self, meta, hidden_sizes: Sequence[int] = (512, 256), activation: str = "relu",
                 dropout: float = 0.2, init: str = "kaiming", width: int = 0, depth: int = 0):
        super().__init__()
        if width or depth:  # tuning shorthand: depth layers of `width` units
            hidden_sizes = [width or 512] * (depth or len(hidden_sizes))
        layers, prev = [], math.prod(meta["input_shape"])
        for h in hidden_sizes:
            layers += [nn.Linear(prev, int(h)), make_activation(activation), nn.Dropout(dropout)]
            prev = int(h)
        layers.append(nn.Linear(prev, meta["num_classes"]))
        self.net = nn.Sequential(*layers)
        init_weights(self, init, nonlinearity=activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))

