"""Checkpoints without pickle: tensors in safetensors, everything else as JSON in its header.

A state (model, optimiser, scheduler, early stopping, random generators, history) is any nest of
dicts, lists, tuples, numbers, strings and tensors. ``flatten`` moves every tensor into a flat
``{key: tensor}`` table and leaves a JSON skeleton that points at them; ``unflatten`` reverses it.
Loading runs no code from the file: safetensors parses raw buffers and the skeleton is JSON.

Each file is written to a temporary name and renamed over the old one, so a crash or ``kill -9``
at any moment leaves the last complete checkpoint in place.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Tuple

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file, save

from ..errors import CheckpointError, UsageError
from ..files import atomic_write, atomic_write_bytes, atomic_write_text  # noqa: F401 - re-exported for old callers
from ..models import build_model

FORMAT = "archbench-checkpoint-1"


def flatten(obj: Any, tensors: Dict[str, torch.Tensor], prefix: str = "t") -> Any:
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}{len(tensors)}"
        tensors[key] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__dict__": {k: flatten(v, tensors, prefix) for k, v in obj.items()}}
        return {"__items__": [[flatten(k, tensors, prefix), flatten(v, tensors, prefix)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten(v, tensors, prefix) for v in obj]}
    if isinstance(obj, list):
        return [flatten(v, tensors, prefix) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot checkpoint a {type(obj).__name__}")


def unflatten(obj: Any, tensors: Dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [unflatten(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {k: unflatten(v, tensors) for k, v in obj["__dict__"].items()}
        if "__items__" in obj:
            return {unflatten(k, tensors): unflatten(v, tensors) for k, v in obj["__items__"]}
        if "__tuple__" in obj:
            return tuple(unflatten(v, tensors) for v in obj["__tuple__"])
    return obj


def save_state(path: Path, state: Dict[str, Any]) -> None:
    """Save a nested state as one safetensors file whose header holds the JSON skeleton."""

    tensors: Dict[str, torch.Tensor] = {}
    skeleton = flatten(state, tensors)
    meta = {"format": FORMAT, "state": json.dumps(skeleton)}
    # bytes written by Python, not by safetensors' own file code: a full disk is then an OSError with
    # its errno, which atomic_write turns into one line (keeping the previous checkpoint)
    atomic_write_bytes(path, save(tensors, metadata=meta))


def load_state(path: Path) -> Dict[str, Any]:
    """Inverse of save_state. Refuses anything that is not an archbench safetensors file."""

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for foreign or damaged files
        raise CheckpointError(f"{path} is not a safetensors checkpoint ({type(e).__name__}); refusing to load it") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} was not written by archbench (no {FORMAT} header)")
    try:
        return unflatten(json.loads(meta["state"]), tensors)
    except (KeyError, ValueError) as e:
        raise CheckpointError(f"{path} is damaged: {e}") from None


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under DDP and torch.compile wrappers (no 'module.'/'_orig_mod.' prefixes)."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def match_param_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each optimiser state tensor its parameter's memory layout again, after load_state_dict.

    A checkpoint stores tensors contiguous (safetensors has no strides), so a channels-last conv
    weight's ``exp_avg`` comes back in NCHW order. torch's fused CPU Adam/AdamW kernel walks param,
    grad and state as flat buffers, so with different layouts it pairs the wrong elements: the first
    step after a resume then differs from the uninterrupted run (docs/reliability.md).
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            for k, v in optimizer.state.get(p, {}).items():
                if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                    optimizer.state[p][k] = torch.empty_like(p, dtype=v.dtype).copy_(v)


def model_state(model: nn.Module) -> Dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in unwrap(model).state_dict().items()}


# ---------------------------------------------------------------- weights + architecture

def save_model(model: nn.Module, directory: Path, name: str = "model") -> Path:
    """Write ``name.safetensors`` (weights) and ``name.json`` (what builds the architecture)."""

    directory = Path(directory)
    plain = unwrap(model)
    weights = {k: v.detach().cpu().contiguous().clone() for k, v in plain.state_dict().items()}
    arch = getattr(plain, "arch", None) or {"name": type(plain).__name__}
    atomic_write_bytes(directory / f"{name}.safetensors", save(weights, metadata={"format": FORMAT}))
    atomic_write_text(directory / f"{name}.json", json.dumps(arch, indent=2))
    return directory / f"{name}.safetensors"


def load_model(directory: Path, name: str = "model", device="cpu") -> nn.Module:
    """Rebuild a registered model from ``name.json`` and load ``name.safetensors`` into it."""


    directory = Path(directory)
    arch_path, weights_path = directory / f"{name}.json", directory / f"{name}.safetensors"
    if not arch_path.is_file() or not weights_path.is_file():
        raise CheckpointError(f"{directory} holds no {name}.json + {name}.safetensors (not an archbench run?)")
    try:
        arch = json.loads(arch_path.read_text())
        model = build_model(arch["name"], arch["meta"], **arch.get("hparams", {}))
    except KeyError as e:
        raise CheckpointError(f"{arch_path} is damaged (no {e})") from None
    except (ValueError, TypeError, AttributeError, UsageError) as e:
        raise CheckpointError(f"{arch_path} is damaged: {e}") from None
    try:
        state = load_file(str(weights_path))
    except Exception as e:
        raise CheckpointError(f"{weights_path} is not a safetensors file ({type(e).__name__}); refusing to load it") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"{weights_path} does not fit {arch['name']}: {str(e).splitlines()[0]}") from None
    return model.to(device)


# ---------------------------------------------------------------- the notebook's 9.2 helpers

def save_checkpoint(path: Path, model: nn.Module, optimizer=None, epoch: int = 0, **extra) -> None:
    """Save model + optimiser + epoch (+ any extra JSON/tensor state) to one safe file."""
    state = {"epoch": epoch, "model": model_state(model), **extra}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    save_state(path, state)


def load_checkpoint(path: Path, model: nn.Module, optimizer=None) -> Tuple[nn.Module, Any, int]:
    """Load what save_checkpoint wrote into ``model`` (and ``optimizer``); returns (model, optimizer, epoch)."""
    state = load_state(path)
    if "model" not in state:
        raise CheckpointError(f"{path} holds no model state")
    unwrap(model).load_state_dict(state["model"])
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
        match_param_layout(optimizer)
    return model, optimizer, int(state.get("epoch", 0))
