"""The 1-D convolutional networks of the UCR time-series classification literature.

All three take a sequence bundle's x (B, T, C) float (T steps of C channels, z-normalised, unequal
lengths right-padded with zeros), turn it into (B, C, T) for Conv1d, keep the length with "same"
padding, and end in global average pooling over time -> (B, F) -> Linear -> (B, num_classes):

- ``fcn``: Wang, Yan & Oates (2017), "Time series classification from scratch with deep neural
  networks": conv 128 (k 8) -> 256 (k 5) -> 128 (k 3), each BN + ReLU; 266k parameters on 1 channel.
- ``resnet1d``: the ResNet of the same paper (as in Fawaz et al. 2019): three residual blocks of
  64, 128, 128 channels, each three convs k 8/5/3 with BN, a 1x1 conv + BN shortcut.
- ``inceptiontime``: one network of Fawaz et al. (2020)'s InceptionTime ensemble: 6 inception modules
  (bottleneck 32, convs k 40/20/10 + max-pool branch, 4 x 32 filters), a residual every 3 modules.
  The paper averages 5 such networks; `archbench compare --seeds` gives the spread of one instead.

Plain average pooling, as the papers do: padded steps count (a masked mean would need the lengths,
which the model does not see).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from . import register_model

# Training defaults, chosen on validation data (docs/measurements.md, "Recipes for own series").
# The UCR sets are 20-300 series, so the recipe counts in optimiser steps: Adam at 1e-3 (the papers'),
# batch 16, a cosine schedule and the best validation epoch restored (patience 0: the whole budget runs,
# the best weights come back whatever ended the run). On ucr: sets the validation split is a handful of
# series (7 of ArrowHead's 36), too few to pick an epoch by: the weights of lowest training loss are kept
# instead, as the FCN and ResNet papers do (docs/measurements.md, "small UCR sets").
TSC_RECIPE = {
    "sequence": dict(optimizer="adamw", lr=1e-3, weight_decay=1e-2, scheduler="cosine", epochs=100,
                     batch_size=16, patience=0, grad_clip=None, label_smoothing=0.0, augment="none"),
    # at least 1500 optimiser steps: a small UCR training split (ArrowHead: 29 series, one batch of 16 an
    # epoch) gets more epochs, a large one keeps 300 (choice and evidence: docs/measurements.md)
    "ucr": dict(epochs=300, min_steps=1500, batch_size=16, lr=1e-3, weight_decay=1e-2, monitor="train_loss"),
}
TSC_SPACE = {"lr": ("log", 1e-4, 3e-3), "weight_decay": ("log", 1e-4, 1e-1)}


def same_conv(cin: int, cout: int, k: int) -> nn.Sequential:
    """(B, cin, T) -> (B, cout, T): zero padding by hand, one more on the right for an even kernel
    (padding="same" does the same but warns and copies the input for every even kernel)."""
    left = (k - 1) // 2
    return nn.Sequential(nn.ConstantPad1d((left, k - 1 - left), 0.0), nn.Conv1d(cin, cout, k, bias=False))


def conv_bn(cin: int, cout: int, k: int, relu: bool = True) -> nn.Sequential:
    """(B, cin, T) -> (B, cout, T): a length-keeping conv, BN, ReLU (unless relu=False)."""
    layers = [same_conv(cin, cout, k), nn.BatchNorm1d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class _TSCHead(nn.Module):
    """(B, F, T) features -> mean over T -> dropout -> Linear -> (B, classes)."""

    def __init__(self, features: int, classes: int, dropout: float):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(features, classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(h.mean(-1)))


@register_model("fcn", ("sequence",), "conv1d",
                "FCN for series (Wang et al. 2017): conv 128/256/128, k 8/5/3, BN-ReLU, global average pooling",
                recipe=TSC_RECIPE, search_space=TSC_SPACE)
class FCN(nn.Module):
    def __init__(self, meta, channels: Sequence[int] = (128, 256, 128), kernels: Sequence[int] = (8, 5, 3),
                 dropout: float = 0.0):
        super().__init__()
        if len(channels) != len(kernels):
            raise ValueError("channels and kernels need the same number of entries")
        cin = int(meta["input_shape"][-1])
        blocks = []
        for cout, k in zip(channels, kernels):
            blocks.append(conv_bn(cin, cout, int(k)))
            cin = cout
        self.conv_blocks = nn.ModuleList(blocks)
        self.head = _TSCHead(cin, int(meta["num_classes"]), dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)  # (B, T, C) -> (B, C, T)
        for block in self.conv_blocks:
            h = block(h)
        return self.head(h)


class ResBlock1d(nn.Module):
    """(B, cin, T) -> three conv-BN (k 8, 5, 3), the last without ReLU, + 1x1 conv-BN shortcut -> ReLU."""

    def __init__(self, cin: int, cout: int, kernels: Sequence[int]):
        super().__init__()
        convs, c = [], cin
        for i, k in enumerate(kernels):
            convs.append(conv_bn(c, cout, int(k), relu=i < len(kernels) - 1))
            c = cout
        self.convs = nn.Sequential(*convs)
        self.shortcut = conv_bn(cin, cout, 1, relu=False) if cin != cout else nn.BatchNorm1d(cout)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.convs(x) + self.shortcut(x))


@register_model("resnet1d", ("sequence",), "conv1d",
                "ResNet for series (Wang et al. 2017; Fawaz et al. 2019): 3 residual blocks 64/128/128, k 8/5/3, GAP",
                recipe=TSC_RECIPE, search_space=TSC_SPACE)
class ResNet1d(nn.Module):
    def __init__(self, meta, channels: Sequence[int] = (64, 128, 128), kernels: Sequence[int] = (8, 5, 3),
                 dropout: float = 0.0):
        super().__init__()
        cin = int(meta["input_shape"][-1])
        blocks = []
        for cout in channels:
            blocks.append(ResBlock1d(cin, cout, kernels))
            cin = cout
        self.conv_blocks = nn.ModuleList(blocks)
        self.head = _TSCHead(cin, int(meta["num_classes"]), dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)
        for block in self.conv_blocks:
            h = block(h)
        return self.head(h)


class InceptionModule(nn.Module):
    """(B, cin, T) -> [bottleneck 1x1 -> convs k1/k2/k3] + [max-pool 3 -> 1x1] -> concat (B, 4*filters, T)."""

    def __init__(self, cin: int, filters: int, kernels: Sequence[int], bottleneck: int):
        super().__init__()
        # a 1-channel input has nothing to squeeze (the paper skips the bottleneck there too)
        self.bottleneck = nn.Conv1d(cin, bottleneck, 1, bias=False) if cin > 1 and bottleneck else nn.Identity()
        b = bottleneck if cin > 1 and bottleneck else cin
        self.convs = nn.ModuleList(same_conv(b, filters, int(k)) for k in kernels)
        self.pool = nn.MaxPool1d(3, stride=1, padding=1)
        self.pool_conv = nn.Conv1d(cin, filters, 1, bias=False)
        self.bn = nn.BatchNorm1d(filters * (len(kernels) + 1))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.bottleneck(x)
        out = [conv(z) for conv in self.convs] + [self.pool_conv(self.pool(x))]
        return self.act(self.bn(torch.cat(out, dim=1)))


@register_model("inceptiontime", ("sequence",), "conv1d",
                "InceptionTime network (Fawaz et al. 2020): 6 inception modules, k 40/20/10, residual every 3, GAP",
                recipe=TSC_RECIPE, search_space=TSC_SPACE)
class InceptionTime(nn.Module):
    def __init__(self, meta, depth: int = 6, filters: int = 32, kernels: Sequence[int] = (40, 20, 10),
                 bottleneck: int = 32, dropout: float = 0.0):
        super().__init__()
        if depth < 1:
            raise ValueError("depth must be at least 1")
        cin = int(meta["input_shape"][-1])
        width = filters * (len(kernels) + 1)
        self.modules_ = nn.ModuleList()
        self.shortcuts = nn.ModuleList()
        res_in = cin
        for d in range(depth):
            self.modules_.append(InceptionModule(cin if d == 0 else width, filters, kernels, bottleneck))
            if d % 3 == 2:  # the residual joins every third module's output to the previous join
                self.shortcuts.append(conv_bn(res_in, width, 1, relu=False))
                res_in = width
        self.act = nn.ReLU(inplace=True)
        self.head = _TSCHead(width, int(meta["num_classes"]), dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)
        res = h
        for d, module in enumerate(self.modules_):
            h = module(h)
            if d % 3 == 2:
                h = self.act(h + self.shortcuts[d // 3](res))
                res = h
        return self.head(h)
