"""The notebook's CNN (Part 3.2): three conv-BN-ReLU-maxpool blocks, FC 256, dropout 0.5.

(B, C, H, W) -> blocks -> (B, 128, H/8, W/8) -> flatten -> FC 256 -> dropout -> (B, classes).
Sized from the data: 1x8x8 digits end at 1x1, 1x28x28 MNIST at 3x3, 3x32x32 CIFAR-10 at 4x4.
``conv_blocks`` lists the blocks in order (for feature maps and filters in ``archbench explain``).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from . import register_model
from .init import init_weights

CNN_RECIPE = {
    "image": dict(optimizer="adamw", lr=3e-3, weight_decay=5e-4, scheduler="onecycle", epochs=15,
                  batch_size=256, patience=0, augment="basic", label_smoothing=0.1),
    "digits": dict(epochs=40, batch_size=64, lr=3e-3, augment="basic"),
    # 8 epochs, not 12: the notebook's accuracy as soon, in less time (docs/measurements.md, 'Recipe evidence')
    "mnist": dict(epochs=8, batch_size=128),
    "fashion-mnist": dict(epochs=15, augment="basic"),
    "cifar10": dict(epochs=30, batch_size=128, lr=4e-3, augment="basic"),
    "folder": dict(epochs=30, batch_size=128, lr=4e-3, augment="basic"),
}


class ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, pool: bool = True):
        layers = [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        super().__init__(*layers)


@register_model(
    "cnn", kinds=("image",), family="cnn",
    summary="the notebook's CNN: 3x (conv-BN-ReLU-maxpool) 32/64/128, FC 256, dropout 0.5",
    recipe=CNN_RECIPE,
    search_space={"lr": ("log", 3e-4, 1e-2), "width": ("choice", [16, 32, 48]), "dropout": ("float", 0.0, 0.6),
                  "fc_size": ("choice", [128, 256, 512])},
)
class CNN(nn.Module):
    def __init__(self, meta, channels: Sequence[int] = (32, 64, 128), fc_size: int = 256, dropout: float = 0.5,
                 init: str = "kaiming", width: int = 0):
        super().__init__()
        if width:  # tuning shorthand: widths width, 2*width, 4*width
            channels = [width, 2 * width, 4 * width]
        cin, h, w = meta["input_shape"]
        blocks = []
        for cout in channels:
            blocks.append(ConvBlock(cin, cout, pool=min(h, w) >= 2))
            if min(h, w) >= 2:
                h, w = h // 2, w // 2
            cin = cout
        self.conv_blocks = nn.ModuleList(blocks)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(cin * h * w, fc_size), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(fc_size, meta["num_classes"]),
        )
        init_weights(self, init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.conv_blocks:
            x = block(x)
        return self.head(x)
