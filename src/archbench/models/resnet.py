"""resnet-small: a fast, small residual CNN for CIFAR-10-sized images (ResNet-9 / airbench style).

    (B, C, H, W) -> stem conv 3x3 (C -> w0/2)
      -> stage(w0), stage(w1), stage(w2); each: conv 3x3 -> maxpool 2 -> BN -> GELU
                                               [-> + residual(conv-BN-GELU, conv-BN-GELU)]
      -> global max pool -> linear (no bias) -> x scale -> (B, classes)

With widths 64/256/256 on 3x32x32 the resolution goes 32 -> 16 -> 8 -> 4 -> 1 (3.2M parameters,
0.21 GMAC per image: about half a ResNet-9 (Page, 2018), with the widths of airbench94 (Jordan,
2024)); ``widths=[128, 256, 512], residual=[True, False, True]`` is ResNet-9 itself. Pooling uses
ceil_mode, so any input from 1x8x8 digits to 3x64x64 works. The logit scale (1/8, as in ResNet-9)
keeps the first softmax soft, which a high learning rate and label smoothing 0.2 need.

Its CIFAR-10 figures (the JPEG copy, ``folder:cifar10-jpg.tar``; one GPU and a 2-core CPU) are in
docs/measurements.md, 'Recipe evidence'. The JPEG files (quality 75, 4:2:0 chroma) cost a point or two
against the original pixels.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from ..registry import check_choice
from . import register_model
from .layers import activation as make_activation


def conv_bn(cin: int, cout: int, act: str) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), make_activation(act))


class Residual(nn.Module):
    def __init__(self, width: int, act: str):
        super().__init__()
        self.body = nn.Sequential(conv_bn(width, width, act), conv_bn(width, width, act))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Stage(nn.Sequential):
    def __init__(self, cin: int, cout: int, residual: bool, act: str):
        layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.MaxPool2d(2, ceil_mode=True),
                  nn.BatchNorm2d(cout), make_activation(act)]
        if residual:
            layers.append(Residual(cout, act))
        super().__init__(*layers)


RESNET_RECIPE = {
    # the ResNet-9 recipe: SGD nesterov, one cycle to lr 0.4 (mean loss), wd 5e-4 on weights only,
    # label smoothing 0.2, batch 512, pad-4 crop + flip
    "image": dict(optimizer="nesterov", lr=0.4, weight_decay=5e-4, scheduler="onecycle", epochs=20,
                  batch_size=512, patience=0, augment="basic", label_smoothing=0.2, grad_clip=0.0),
    "digits": dict(epochs=30, batch_size=128, lr=0.2),
    "mnist": dict(epochs=8),
    "fashion-mnist": dict(epochs=16),
    # photos: cutout, and evaluation that averages each image with its mirror (it raised test accuracy);
    # a folder of mirror-sensitive images (digits, text) wants --set tta=none
    "cifar10": dict(epochs=30, augment="strong", tta="flip"),  # figures: docs/measurements.md, 'Recipe evidence'
    "folder": dict(epochs=30, augment="strong", tta="flip"),
}


@register_model(
    "resnet-small", kinds=("image",), family="cnn",
    summary="small residual CNN (ResNet-9/airbench style, 64/256/256, GELU): 91.4% on CIFAR-10 JPEG in 30 epochs",
    recipe=RESNET_RECIPE,
    search_space={"lr": ("log", 0.05, 1.0), "width": ("choice", [32, 48, 64, 96]),
                  "weight_decay": ("log", 1e-4, 2e-3)},
)
class ResNetSmall(nn.Module):
    def __init__(self, meta, widths: Sequence[int] = (64, 256, 256), residual: Sequence[bool] = (True, True, True),
                 activation: str = "gelu", scale: float = 0.125, width: int = 0, tta: str = "none"):
        super().__init__()
        self.tta = check_choice("tta", tta, ("none", "flip"))
        if width:  # tuning shorthand: widths width, 4*width, 4*width
            widths = [width, 4 * width, 4 * width]
        cin = meta["input_shape"][0]
        stem = max(8, widths[0] // 2)
        self.stem = conv_bn(cin, stem, activation)
        stages, prev = [], stem
        for w, res in zip(widths, residual):
            stages.append(Stage(prev, int(w), bool(res), activation))
            prev = int(w)
        self.conv_blocks = nn.ModuleList(stages)  # named as in the CNN, for feature maps in `explain`
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(prev, meta["num_classes"], bias=False)
        self.scale = float(scale)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.conv_blocks:
            x = stage(x)
        return self.fc(self.pool(x).flatten(1)) * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> logits (B, classes). With tta="flip", evaluation averages the logits of each
        image and its mirror (the net was trained on both), as airbench does: training is unchanged."""
        if self.tta == "flip" and not self.training:
            return 0.5 * (self._logits(x) + self._logits(x.flip(-1)))
        return self._logits(x)
