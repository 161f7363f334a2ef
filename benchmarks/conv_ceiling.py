"""How close can the MNIST CNN get to this machine's bf16 GEMM peak? Each of its convolutions alone.

    python benchmarks/conv_ceiling.py [--batch 128 512] [--threads N]

For each convolution of `archbench train cnn --data mnist` (3x3, padding 1: 1->32 at 28x28,
32->64 at 14x14, 64->128 at 7x7) it times forward + backward (input and weight gradients, as in
training) in bf16, channels-last and contiguous, and a plain matrix product of the same
im2col shape (M = B*H*W, K = 9*Cin, N = Cout; three of them, as forward + two gradients). It prints
GFLOP/s and the share of the 2048x2048 bf16 GEMM peak measured in the same run, and the whole
model's training step for comparison. A layer that alone stays far below a share cannot lift the
whole model above it: this bounds what the speed issue's "40% of the bf16 peak" can mean for this
model on this CPU.
"""
from __future__ import annotations

import argparse
import time
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from archbench.experiment.bench import gemm_peak
from archbench.models.cnn import CNN
from archbench.models.cost import forward_flops

MNIST = {"input_shape": (1, 28, 28), "num_classes": 10}


def conv_shapes(model: nn.Module, input_shape) -> List[Tuple[int, int, int]]:
    """(Cin, Cout, H) of every 3x3 convolution of the model, H = W being its input size (hooks, one pass)."""
    shapes, hooks = [], []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out: shapes.append((mod.in_channels, mod.out_channels, inp[0].shape[-1]))))
    with torch.no_grad():
        model.eval()(torch.zeros(1, *input_shape))
    for h in hooks:
        h.remove()
    return shapes


def best_time(fn, repeats: int = 20) -> float:
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def conv_step(b: int, cin: int, cout: int, hw: int, channels_last: bool):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(b, cin, hw, hw).to(torch.bfloat16).contiguous(memory_format=fmt).requires_grad_(cin > 1)
    w = torch.randn(cout, cin, 3, 3).to(torch.bfloat16).contiguous(memory_format=fmt).requires_grad_()

    def step():
        y = F.conv2d(x, w, padding=1)
        y.backward(torch.ones_like(y))
    return step


def gemm_step(m: int, k: int, n: int):
    a = torch.randn(m, k).to(torch.bfloat16)
    b = torch.randn(k, n).to(torch.bfloat16)
    g = torch.randn(m, n).to(torch.bfloat16)

    def step():
        a @ b  # forward
        g @ b.T  # input gradient
        a.T @ g  # weight gradient
    return step


def model_step(model: nn.Module, b: int):
    """One training step (autocast bf16, AdamW, channels-last) and its FLOPs: 3 x forward, as in `bench`."""
    model = model.train().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(b, *MNIST["input_shape"]).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, MNIST["num_classes"], (b,))

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
        opt.step()
    return step, 3 * b * forward_flops(model, x[:1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    peak = gemm_peak(torch.bfloat16)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; bf16 GEMM peak (2048^2): {peak:,.0f} GFLOP/s\n")
    print("| batch | layer | FLOPs/step (fwd+bwd) | conv channels-last | conv contiguous | same-shape GEMM |")
    print("|---|---|---|---|---|---|")
    model = CNN(MNIST)
    convs = conv_shapes(model, MNIST["input_shape"])
    bounds = []
    for b in a.batch:
        conv_seconds = 0.0  # each convolution in its faster layout: a lower bound on the step's time
        for cin, cout, hw in convs:
            flops = 3 * 2 * b * cout * hw * hw * cin * 9
            cells, times = [], []
            for fn in (conv_step(b, cin, cout, hw, True), conv_step(b, cin, cout, hw, False),
                       gemm_step(b * hw * hw, 9 * cin, cout)):
                times.append(best_time(fn))
                g = flops / times[-1] / 1e9
                cells.append(f"{g:,.0f} GFLOP/s ({100 * g / peak:.1f}%)")
            conv_seconds += min(times[:2])
            print(f"| {b} | conv {cin}->{cout} @{hw}x{hw} | {flops / 1e9:.2f} G | " + " | ".join(cells) + " |")
        step, flops = model_step(model, b)
        g = flops / best_time(step, repeats=10) / 1e9
        print(f"| {b} | whole CNN training step (autocast bf16, AdamW) | {flops / 1e9:.2f} G | "
              f"{g:,.0f} GFLOP/s ({100 * g / peak:.1f}%) | | |")
        bounds.append((b, flops / conv_seconds / 1e9))
    for b, g in bounds:
        print(f"\nbatch {b}: with everything but the three convolutions free (no BatchNorm, ReLU, pooling, "
              f"FC or optimiser time), the step would run at {g:,.0f} GFLOP/s = {100 * g / peak:.1f}% of the bf16 peak")


if __name__ == "__main__":
    main()
