"""Where and how a run executes: device, precision, process group, seeding.

One process trains the same way whether it is alone or one rank of ``torchrun``: the loop asks
``Runtime`` for its rank and world size and all-reduces its sums; nothing else changes.
"""
from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist

from ..errors import UsageError

FAST_BF16_FAMILIES = ("mlp", "cnn", "resnet")  # where CPU bf16 autocast is both faster and as accurate
# oneDNN's bf16 LSTM kernel saves CPU time at the same accuracy; lstm-attn in bf16 gains little and does not
# clearly keep its accuracy, the GRU and the transformer are no faster, forecasts (regression) stay fp32
# (docs/measurements.md, 'Recipe evidence').
FAST_BF16_SEQUENCE_MODELS = ("lstm",)
# The tanh RNNs stay fp32 on a GPU: under bf16 autocast there they lost accuracy on seq-sum (cause not found), and
# a model this small is bound by kernel launches, so fp32 costs it nothing measurable (docs/measurements.md).
FP32_ON_GPU_MODELS = ("rnn", "birnn")


@dataclass
class Runtime:
    device: torch.device
    precision: str  # fp32 | bf16 | fp16 (resolved)
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    _autocast: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)  # (precision, context)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def autocast(self):
        """The run's autocast context, built once and reused (never nested): on CUDA, torch.autocast's
        constructor calls torch.cuda.is_bf16_supported(), which a profile showed costing time every step."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        if self._autocast is None or self._autocast[0] != self.precision:
            dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
            self._autocast = (self.precision, torch.autocast(self.device.type, dtype=dtype))
        return self._autocast[1]

    def all_sum(self, *values: float):
        """Sum numbers over ranks (identity in one process)."""
        if not self.distributed:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t)
        return tuple(t.tolist())

    def barrier(self):
        if self.distributed:
            dist.barrier()


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError("--device cuda was asked for but no CUDA GPU is available (use --device cpu or auto)")
        if name == "cuda" and local_rank >= torch.cuda.device_count():
            raise UsageError(too_few_gpus(int(os.environ.get("LOCAL_WORLD_SIZE", local_rank + 1))))
        return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UsageError("--device mps was asked for but is not available")
        return torch.device("mps")
    if name != "cpu":
        raise UsageError(f"unknown device {name!r}; choose from: auto, cpu, cuda, cuda:N, mps")
    return torch.device("cpu")


def too_few_gpus(nproc: int) -> str:
    n = torch.cuda.device_count()
    return (f"{nproc} processes need a GPU each, and this machine has {n}: use --nproc {n} "
            f"(torchrun --nproc-per-node {n}), or --device cpu for processes on the CPU")


def cpu_has_bf16() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device, family: str, model: str = "", kind: str = "") -> str:
    """'auto' -> the fastest precision that keeps accuracy for this model on this device."""
    if name == "fp16" and device.type != "cuda":
        raise UsageError("--precision fp16 needs a CUDA GPU (it uses a gradient scaler); use bf16 or fp32 on CPU")
    if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UsageError("this GPU has no bf16 support; use --precision fp16 or fp32")
    if name != "auto":
        return name
    if device.type == "cuda":
        if model in FP32_ON_GPU_MODELS:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    fast = family in FAST_BF16_FAMILIES or (kind == "sequence" and model in FAST_BF16_SEQUENCE_MODELS)
    if device.type == "cpu" and fast and cpu_has_bf16():
        return "bf16"
    return "fp32"


def init_distributed(device_name: str) -> Runtime:
    """Join torchrun's process group when launched by it (env RANK/WORLD_SIZE), else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return Runtime(device=device, precision="fp32", rank=rank, world=world, local_rank=local_rank)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state(device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]), "python_pos": random.getstate()[2],
             "numpy": np.random.get_state()[1].astype(np.int64).tolist(), "numpy_pos": int(np.random.get_state()[2])}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), state["python_pos"]))
    np.random.set_state(("MT19937", np.array(state["numpy"], dtype=np.uint32), state["numpy_pos"], 0, 0.0))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def set_threads(n: Optional[int]) -> None:
    if n:
        torch.set_num_threads(int(n))
