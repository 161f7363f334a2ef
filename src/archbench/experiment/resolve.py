"""From what a user asked to what a run trains with: overrides, the model's recipe, data and model."""
from __future__ import annotations

import inspect
from typing import Any, Dict, Optional

from ..config import TrainConfig, apply_recipe, epochs_for_steps, route, validate
from ..data import dataset_entry, load_data
from ..data.base import DataBundle
from ..errors import UsageError
from ..models import build_model, check_fits, model_entry
from ..registry import check_types
from ..train.runtime import Runtime, resolve_precision, seed_everything


def resolve_config(cfg: TrainConfig, overrides: Optional[Dict[str, Any]] = None) -> TrainConfig:
    """Apply --set style overrides and the model's recipe; validate everything."""
    entry = model_entry(cfg.model)
    data = dataset_entry(cfg.data)
    route(cfg, overrides or {}, entry.hparams(), data.options())
    check_types(cfg.model_args, inspect.signature(entry.cls.__init__))
    check_types(cfg.data_args, inspect.signature(data.loader))
    if data.kind not in entry.kinds:
        raise UsageError(f"model {cfg.model!r} does not take {data.kind} data ({cfg.data}); it takes: {', '.join(entry.kinds)}")
    apply_recipe(cfg, entry.recipe_for(cfg.data, data.kind), entry.hparams())
    validate(cfg)
    return cfg


def prepare(cfg: TrainConfig, rt: Runtime, bundle: Optional[DataBundle] = None):
    """Data and model for a resolved config (deterministic for cfg.data_seed and cfg.seed); the
    epochs grow here to the recipe's step floor, which needs the training split's size."""
    if bundle is None:
        bundle = load_data(cfg.data, data_dir=cfg.data_dir, seed=cfg.data_seed, **cfg.data_args)
    cfg.epochs = epochs_for_steps(cfg, len(bundle.train))
    entry = model_entry(cfg.model)
    check_fits(entry, bundle.meta(), cfg.data)
    seed_everything(cfg.seed)
    model = build_model(cfg.model, bundle.meta(), **cfg.model_args)
    rt.precision = resolve_precision(cfg.precision, rt.device, entry.family, cfg.model, bundle.kind)
    return bundle, model, entry


def use_channels_last(cfg: TrainConfig, rt: Runtime, bundle: DataBundle, family: str) -> bool:
    if cfg.channels_last is not None:
        return bool(cfg.channels_last)
    # channels-last pays on GPUs and for bf16 convolutions on CPUs (oneDNN's blocked kernels)
    return bundle.kind == "image" and family in ("cnn", "resnet") and (rt.device.type == "cuda" or rt.precision == "bf16")
