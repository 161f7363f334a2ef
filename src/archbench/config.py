"""The training configuration: one dataclass, filled in layers.

Resolution order (later wins): archbench defaults < the model's recipe for this data kind < its
recipe for this data set < ``--config FILE.yaml`` < command-line flags < ``--set key=value``.
``--set`` keys go to the config if they name a field, else to the model's hyperparameters, else to
the data set's options; anything else is an error that lists the valid keys.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from .errors import CheckpointError, UsageError
from .registry import check_choice, check_types

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")  # momentum: plain (heavy-ball)
SCHEDULERS = ("none", "step", "exponential", "cosine", "plateau", "onecycle", "cosine-restarts")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
AUGMENTS = ("none", "basic", "strong")
MONITORS = ("val_loss", "val_acc", "train_loss")
LOSSES = ("auto", "cross-entropy", "bce", "mse", "l1", "huber")  # which fits which task: train/options.py


@dataclass
class TrainConfig:
    model: str = "cnn"
    data: str = "digits"
    data_dir: Optional[str] = None
    data_seed: int = 0  # generates synthetic data and draws the validation split: fixed across --seed
    seed: int = 0  # initialisation, batch order, augmentation, dropout
    epochs: Optional[int] = None  # None: the model's recipe decides
    batch_size: Optional[int] = None
    eval_batch_size: Optional[int] = None
    lr: Optional[float] = None  # or "auto": the learning-rate range test picks it
    optimizer: Optional[str] = None
    weight_decay: Optional[float] = None
    momentum: float = 0.9  # the coefficient, for optimizer momentum and nesterov
    loss: Optional[str] = None  # auto | cross-entropy | bce | mse | l1 | huber (train/options.py)
    huber_delta: float = 1.0
    l1_penalty: float = 0.0  # lambda * sum |w| over weight tensors, added to the training loss
    step_size: Optional[int] = None  # scheduler step: epochs between cuts (None: a third of the epochs)
    gamma: Optional[float] = None  # step: factor per cut (None: 0.1); exponential: per epoch (None: to 1% at the end)
    plateau_patience: int = 3  # scheduler plateau: epochs without a better val loss before a cut
    plateau_factor: float = 0.5
    cosine_period: Optional[int] = None  # epochs per cosine (None: all; cosine-restarts: a third)
    scheduler: Optional[str] = None
    patience: Optional[int] = None  # early stopping patience in epochs; 0 = train all epochs
    min_delta: float = 0.0
    monitor: Optional[str] = None  # what early stopping watches and whose best epoch is restored (None: val_loss)
    label_smoothing: Optional[float] = None
    augment: Optional[str] = None
    grad_clip: Optional[float] = None
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    channels_last: Optional[bool] = None  # None: where it is faster (convolutional models on CUDA)
    target_accuracy: Optional[float] = None  # stop once validation accuracy reaches it (fraction 0-1)
    max_seconds: Optional[float] = None  # budget: stop training after this many seconds
    max_steps: Optional[int] = None  # budget: stop after this many optimiser steps
    min_steps: Optional[int] = None  # floor: on a small training split the epochs grow to this many steps (0: off)
    checkpoint_every: float = 60.0  # seconds between mid-epoch checkpoints (one is written every epoch)
    eval_test_each_epoch: bool = False  # record test accuracy per epoch (benchmarks; not timed)
    tensorboard: bool = False
    progress: str = "auto"  # auto (bar on a terminal) | bar | epoch | none
    threads: Optional[int] = None
    out: Optional[str] = None
    model_args: Dict[str, Any] = field(default_factory=dict)
    data_args: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - names)
        if bad:
            raise UsageError(f"unknown config key(s) {', '.join(bad)}")
        return cls(**d)


FIELDS = {f.name for f in dataclasses.fields(TrainConfig)} - {"model_args", "data_args"}
# how to run, not what to train: a resumed run may change these, nothing else
RESUME_RUNTIME = ("device", "threads", "progress")

# archbench's own defaults, used where neither the user nor the recipe says
DEFAULTS = dict(epochs=10, batch_size=128, lr=1e-3, optimizer="adam", weight_decay=0.0, scheduler="none", loss="auto",
                patience=0, label_smoothing=0.0, augment="none", grad_clip=None, monitor="val_loss", min_steps=0)


def parse_value(text: str) -> Any:
    """'0.1' -> 0.1, 'true' -> True, '[64,64]' -> [64, 64], 'relu' -> 'relu' (YAML scalars)."""

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):  # YAML 1.1 reads '1e-3' (no dot) as a string
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def parse_sets(items: List[str]) -> Dict[str, Any]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--set expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip().replace("-", "_")] = parse_value(v)
    return out


def load_config_file(path: str) -> Dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"config file {path} does not exist")
    try:
        d = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise UsageError(f"config file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(d, dict):
        raise UsageError(f"config file {path} must hold a mapping of key: value")
    return {k.replace("-", "_"): v for k, v in d.items()}


def route(cfg: TrainConfig, values: Dict[str, Any], model_hparams, data_options) -> None:
    """Put each key where it belongs: config field, model hyperparameter or data option."""
    for k, v in values.items():
        if k in ("model_args", "data_args"):
            getattr(cfg, k).update(v or {})
        elif k in FIELDS:
            setattr(cfg, k, v)
        elif k in model_hparams:
            cfg.model_args[k] = v
        elif k in data_options:
            cfg.data_args[k] = v
        else:
            valid = sorted(FIELDS | set(model_hparams) | set(data_options))
            raise UsageError(f"unknown setting {k!r}; valid for {cfg.model} on {cfg.data}: {', '.join(valid)}")


def apply_recipe(cfg: TrainConfig, recipe: Dict[str, Any], model_hparams=()) -> None:
    """Fill every field still None from the recipe, then from DEFAULTS; a recipe may also give model
    hyperparameters (e.g. no dropout on a small synthetic task), which the user's own values override.
    A recipe's ``min_steps`` floor never lengthens a run whose epochs the user gave."""
    if cfg.epochs is not None and cfg.min_steps is None:
        cfg.min_steps = 0
    for k, v in {**DEFAULTS, **recipe}.items():
        if k in FIELDS and getattr(cfg, k) is None:
            setattr(cfg, k, v)
        elif k in model_hparams:
            cfg.model_args.setdefault(k, v)


def epochs_for_steps(cfg: TrainConfig, n_train: int) -> int:
    """The epochs a run trains: cfg.epochs, or more where ``n_train`` examples in batches of
    cfg.batch_size (the last partial batch dropped, as the loop does) give fewer than cfg.min_steps
    optimiser steps. The schedule then spans the longer run, as it would for --epochs."""
    steps_per_epoch = max(1, n_train // cfg.batch_size)
    return max(cfg.epochs, math.ceil((cfg.min_steps or 0) / steps_per_epoch))


def validate(cfg: TrainConfig) -> None:
    fields = {k: getattr(cfg, k) for k in FIELDS if k != "lr"}  # lr may also be "auto"
    check_types(fields, inspect.signature(TrainConfig))
    check_choice("optimizer", cfg.optimizer, OPTIMIZERS)
    check_choice("scheduler", cfg.scheduler, SCHEDULERS)
    check_choice("loss", cfg.loss, LOSSES)
    if not 0 < cfg.plateau_factor < 1:
        raise UsageError(f"plateau_factor must be above 0 and below 1, got {cfg.plateau_factor!r}")
    check_choice("precision", cfg.precision, PRECISIONS)
    check_choice("augment", cfg.augment, AUGMENTS)
    check_choice("monitor", cfg.monitor, MONITORS)
    check_choice("progress", cfg.progress, ("auto", "bar", "epoch", "none"))
    positive = dict(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=1.0 if cfg.lr == "auto" else cfg.lr)
    for k, v in positive.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            raise UsageError(f"--{k.replace('_', '-')} must be a positive number, got {v!r}")
    if not isinstance(cfg.epochs, int) or not isinstance(cfg.batch_size, int):
        raise UsageError("--epochs and --batch-size must be whole numbers")
    if cfg.patience is None or cfg.patience < 0:
        raise UsageError(f"--patience must be 0 (off) or a positive number of epochs, got {cfg.patience!r}")


def read_json_object(path: Path) -> Dict[str, Any]:
    """One of archbench's JSON files (archbench.json, config.json, metrics.json), which must hold an
    object. FileNotFoundError passes through; anything else unreadable is a CheckpointError."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as e:  # unreadable, not UTF-8, or not JSON
        raise CheckpointError(f"{path} is damaged ({str(e).splitlines()[0][:80]})") from None
    if not isinstance(d, dict):
        raise CheckpointError(f"{path} is damaged (expected a JSON object, found {type(d).__name__})")
    return d


def dumps(d: Dict[str, Any]) -> str:
    return json.dumps(d, indent=2, sort_keys=False, default=str)
