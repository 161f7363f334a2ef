"""Why archbench attends in fp32 under CPU bf16 autocast: torch's fused attention, forward + backward.

    python benchmarks/cpu_attention.py [--threads 1]

For the attention shapes of the seq-sum models (batch 64; lstm-attn: 4 heads of 16 over 50 steps;
transformer: 4 heads of 16, or 8 of 8, over 51 steps with the CLS token) it times
``F.scaled_dot_product_attention`` forward + backward in fp32 and in bf16, and archbench's
``models.attention.fused_attention`` on bf16 inputs (what a bf16 run now does: fp32 inside). It
prints milliseconds per call, the median of 5 repeats of 20 calls.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from archbench.models.attention import fused_attention

SHAPES = [(64, 4, 50, 16), (64, 4, 51, 16), (64, 8, 51, 8)]  # (batch, heads, steps, head size)


def ms_per_call(fn, dtype: torch.dtype, shape) -> float:
    q, k, v = (torch.randn(shape, dtype=dtype, requires_grad=True) for _ in range(3))

    def call():
        fn(q, k, v).float().sum().backward()

    for _ in range(5):
        call()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(20):
            call()
        times.append((time.perf_counter() - t0) / 20)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s); ms per forward + backward")
    print(f"{'shape (B, H, T, d)':<20} {'sdpa fp32':>10} {'sdpa bf16':>10} {'archbench bf16':>15}")
    for shape in SHAPES:
        fp32 = ms_per_call(F.scaled_dot_product_attention, torch.float32, shape)
        bf16 = ms_per_call(F.scaled_dot_product_attention, torch.bfloat16, shape)
        ours = ms_per_call(fused_attention, torch.bfloat16, shape)
        print(f"{str(shape):<20} {fp32:>10.2f} {bf16:>10.2f} {ours:>15.2f}   bf16/fp32 {bf16 / fp32:.1f}x")


if __name__ == "__main__":
    main()
