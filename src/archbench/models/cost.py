"""What a model costs: parameters, FLOPs, latency, throughput, memory and file size.

Inputs are whatever the model takes: float (B, C, H, W) images, (B, T, F) sequences, or int64
(B, T) token ids. Everything runs on the device the model's parameters live on (the input is moved
there) and CUDA is synchronised around each timed call.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one sample (batch 1, eval mode,
no grad), with its convention: a multiply-add is 2 FLOPs and only matmuls, convolutions and
attention are counted (plus matrix-vector and dot products, added here); element-wise ops, norms,
activations and embedding look-ups are not. Fused kernels that it has no formula for -- oneDNN/cuDNN
RNNs (``aten.mkldnn_rnn_layer``, ``aten._cudnn_rnn``), the ``nn.TransformerEncoderLayer`` /
``nn.MultiheadAttention`` inference fast path (``aten._transformer_encoder_layer_fwd``,
``aten._native_multi_head_attention``) and the CPU flash-attention kernel -- would silently count
as 0. :func:`unfused_kernels` switches those off while counting, so RNN/LSTM/GRU steps and attention
run as the ordinary ``mm``/``addmm``/``bmm`` ops that are counted exactly: the arithmetic is the
same, only the kernel differs. Text models are counted at the sequence length of the example given.
Latency and throughput are timed with the fused kernels, as the model really runs.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import time
import warnings
from typing import Any, Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

Inputs = Union[torch.Tensor, tuple, list]


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; tied weights are counted once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def model_device(model: nn.Module, fallback: Optional[torch.device] = None) -> torch.device:
    p = next(model.parameters(), None)
    if p is None:
        p = next(model.buffers(), None)
    return p.device if p is not None else (fallback or torch.device("cpu"))


def prepare_input(model: nn.Module, x: Inputs, batch: Optional[int] = None) -> Inputs:
    """The first ``batch`` samples of ``x`` (a tensor or a tuple of tensors) on the model's device."""
    if isinstance(x, (tuple, list)):
        return type(x)(prepare_input(model, t, batch) for t in x)
    if batch is not None:
        x = x[:batch]
    return x.to(model_device(model, x.device))


def call_model(model: nn.Module, x: Inputs):
    return model(*x) if isinstance(x, (tuple, list)) else model(x)


def _batch_size(x: Inputs) -> int:
    return int((x[0] if isinstance(x, (tuple, list)) else x).shape[0])


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Temporarily switch to eval mode (no dropout, running BN statistics), restoring afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def unfused_kernels():
    """Run RNNs and attention through the decomposed ops that FlopCounterMode can count."""
    mha = getattr(torch.backends, "mha", None)
    fastpath = mha.get_fastpath_enabled() if mha is not None and hasattr(mha, "get_fastpath_enabled") else None
    with contextlib.ExitStack() as stack:
        with warnings.catch_warnings():  # some versions warn about TF32 whenever the flags change
            warnings.simplefilter("ignore")
            stack.enter_context(torch.backends.mkldnn.flags(enabled=False))
            stack.enter_context(torch.backends.cudnn.flags(enabled=False,
                                                           deterministic=torch.backends.cudnn.deterministic))
        stack.enter_context(sdpa_kernel(SDPBackend.MATH))
        if fastpath is not None:
            mha.set_fastpath_enabled(False)
        try:
            yield
        finally:
            if fastpath is not None:
                mha.set_fastpath_enabled(fastpath)


def _mv_flops(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0] * a_shape[1]


def _dot_flops(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0]


def flop_counter() -> FlopCounterMode:
    """A silent FlopCounterMode that also counts matrix-vector and dot products (``h @ q``)."""
    aten = torch.ops.aten
    return FlopCounterMode(display=False, custom_mapping={aten.mv: _mv_flops, aten.dot: _dot_flops})


def forward_flops(model: nn.Module, example_input: Inputs) -> int:
    """FLOPs of one forward pass on ONE sample (the first of ``example_input``)."""
    x = prepare_input(model, example_input, batch=1)
    counter = flop_counter()
    with eval_mode(model), torch.no_grad(), unfused_kernels(), counter:
        call_model(model, x)
    return int(counter.get_total_flops())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_calls(model: nn.Module, x: Inputs, repeats: int, warmup: int) -> Tuple[float, float]:
    """(median seconds of one call, this process's CPU time / (wall time x threads) over the calls).

    On a busy machine the second falls well below 1: the calls waited for a core, and their wall
    times measure the machine's load as much as the model (a loaded 2-core machine once gave a
    100x slower training figure with the default thread count than with one thread)."""
    device = model_device(model, (x[0] if isinstance(x, (tuple, list)) else x).device)
    times = []
    with eval_mode(model), torch.inference_mode():
        for _ in range(warmup):
            call_model(model, x)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(max(1, repeats)):
            _sync(device)
            t0 = time.perf_counter()
            call_model(model, x)
            _sync(device)
            times.append(time.perf_counter() - t0)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    share = cpu / max(wall * torch.get_num_threads(), 1e-12)
    return statistics.median(times), share


def _median_seconds(model: nn.Module, x: Inputs, repeats: int, warmup: int) -> float:
    return timed_calls(model, x, repeats, warmup)[0]


@contextlib.contextmanager
def fixed_threads(threads: Optional[int]):
    """torch's intra-op thread count set to ``threads`` for the block (None: leave it), then restored."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


# below this CPU share the timed calls spent a fifth or more of their time waiting for a core
DISTURBED_BELOW = 0.8


def inference_latency_ms(model: nn.Module, example_input: Inputs, repeats: int = 50, warmup: int = 5) -> float:
    """Median wall time (ms) of one forward pass at batch size 1."""
    x = prepare_input(model, example_input, batch=1)
    return 1000.0 * _median_seconds(model, x, repeats, warmup)


def inference_throughput(model: nn.Module, inputs_batch: Inputs, repeats: int = 5, warmup: int = 1) -> float:
    """Samples per second at the batch size of ``inputs_batch`` (median over ``repeats`` passes)."""
    x = prepare_input(model, inputs_batch)
    return _batch_size(x) / max(_median_seconds(model, x, repeats, warmup), 1e-12)


def peak_memory_mb(device: Optional[Union[str, torch.device]] = None) -> Dict[str, Optional[float]]:
    """Peak resident memory of this process and, on CUDA, peak memory allocated by torch (MB)."""
    rss = None
    try:
        import resource
        import sys

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rss = kb / (1024.0 * 1024.0) if sys.platform == "darwin" else kb / 1024.0  # bytes on macOS, KiB on Linux
    except ImportError:  # Windows
        pass
    cuda = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = torch.cuda.max_memory_allocated(device if device is not None and str(device).startswith("cuda")
                                               else None) / 2**20
    return {"rss_mb": rss, "cuda_mb": cuda}


def file_size_mb(path: Union[str, os.PathLike]) -> float:
    return os.path.getsize(path) / 2**20


def measure_costs(model: nn.Module, example_batch: Inputs, weights_path=None,
                  latency_repeats: int = 50, throughput_repeats: int = 5, threads: Optional[int] = 1) -> Dict[str, Any]:
    """Everything above for one model, as a JSON-able dict.

    ``example_batch`` is a real batch of model input (its first sample gives FLOPs and latency,
    the whole batch gives throughput, so pass a large one). Latency and throughput are medians of
    repeated calls with ``threads`` intra-op threads (default 1: the same on any machine, and not
    slowed by another program's threads; None keeps the current count); ``timing_disturbed`` says
    whether those calls waited for a core (their CPU share below DISTURBED_BELOW, CPU only).
    """
    x = prepare_input(model, example_batch)
    first = x[0] if isinstance(x, (tuple, list)) else x
    with fixed_threads(threads) as used:
        one, share_one = timed_calls(model, prepare_input(model, x, batch=1), latency_repeats, 5)
        many, share_many = timed_calls(model, x, throughput_repeats, 1)
    share = min(share_one, share_many)
    costs = {
        "params": count_parameters(model),
        "flops_per_sample": forward_flops(model, x),
        "latency_ms_b1": 1000.0 * one,
        "throughput_samples_s": _batch_size(x) / max(many, 1e-12),
        "throughput_batch_size": _batch_size(x),
        "timing_threads": used, "timing_repeats": [latency_repeats, throughput_repeats],
        "timing_cpu_share": round(share, 3),
        "timing_disturbed": bool(share < DISTURBED_BELOW) if first.device.type == "cpu" else None,
        "weights_mb": file_size_mb(weights_path) if weights_path is not None else None,
        "sample_shape": list(first.shape[1:]),
        "device": str(first.device),
    }
    mem = peak_memory_mb(first.device)  # peaks since the process started (or the last CUDA reset)
    costs.update(peak_rss_mb=mem["rss_mb"], peak_cuda_mb=mem["cuda_mb"])
    return costs


__all__ = [
    "count_parameters", "forward_flops", "inference_latency_ms", "inference_throughput", "peak_memory_mb",
    "file_size_mb", "measure_costs", "unfused_kernels", "eval_mode", "prepare_input", "call_model", "flop_counter",
]
