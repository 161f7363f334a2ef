"""What a comparison runs: the (data, model) pairs, seeds, budget and sweep, and each run's settings."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..baselines import BASELINE_KINDS, BASELINES
from ..config import FIELDS, TrainConfig, parse_value
from ..data import dataset_entry
from ..errors import UsageError
from ..models import model_entry
from .resolve import resolve_config

ZOO = [("digits", ["mlp", "cnn"]), ("seq-sum", ["rnn", "birnn", "lstm", "gru", "lstm-attn", "transformer"])]


@dataclass
class Plan:
    """Every (data, model) pair to run, with seeds, an optional sweep and the shared budget."""

    pairs: List[Tuple[str, str]]
    seeds: List[int]
    budget: Dict[str, Any] = field(default_factory=dict)  # {"epochs": N} | {"max_seconds": S} | {"max_steps": K}
    sweep_key: Optional[str] = None
    sweep_values: List[Any] = field(default_factory=list)

    def runs(self):
        values = self.sweep_values or [None]
        for data, model in self.pairs:
            for v in values:
                for seed in self.seeds:
                    yield data, model, seed, v


def parse_seeds(seeds: Optional[str], repeats: Optional[int], default: int = 0) -> List[int]:
    if seeds and repeats is not None:
        raise UsageError("give --seeds or --repeats, not both")
    if repeats is not None:
        if repeats < 1:
            raise UsageError("--repeats must be at least 1")
        return list(range(repeats))
    if not seeds:
        return [default]
    try:
        out = [int(s) for s in str(seeds).split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--seeds takes integers separated by commas, got {seeds!r}") from None
    if len(set(out)) != len(out) or not out:
        raise UsageError(f"--seeds must be distinct integers, got {seeds!r}")
    return out


def parse_budget(text: Optional[str]) -> Dict[str, Any]:
    if not text:
        return {}
    key, _, value = text.partition("=")
    names = {"epochs": ("epochs", int), "seconds": ("max_seconds", float), "steps": ("max_steps", int)}
    if key not in names or not value:
        raise UsageError(f"--budget takes epochs=N, seconds=S or steps=K, got {text!r}")
    field_name, kind = names[key]
    try:
        v = kind(value)
    except ValueError:
        raise UsageError(f"--budget {key} needs a number, got {value!r}") from None
    if v <= 0:
        raise UsageError(f"--budget {key} must be positive")
    return {field_name: v}


def budget_text(budget: Dict[str, Any]) -> str:
    if not budget:
        return "each model's recipe (its own epochs)"
    (k, v), = budget.items()
    return {"epochs": f"{v} epoch{'s' if v != 1 else ''} each", "max_seconds": f"{v:g} s of training each",
            "max_steps": f"{v} optimiser steps each"}[k]


def parse_sweep(text: Optional[str]) -> Tuple[Optional[str], List[Any]]:
    if not text:
        return None, []
    key, _, values = text.partition("=")
    vals = [parse_value(v) for v in values.split(",") if v.strip()]
    if not key or not vals:
        raise UsageError(f"--sweep takes key=v1,v2,..., got {text!r}")
    return key.strip().replace("-", "_"), vals


def pair_models(models: Sequence[str], datas: Sequence[str]) -> List[Tuple[str, str]]:
    """Each model with every named data set whose kind it takes (an error if it takes none)."""

    if not models and not datas:
        return [(d, m) for d, ms in ZOO for m in ms]
    if not datas:
        datas = ["digits"]
    if not models:
        raise UsageError("name the models to compare (see `archbench models`), or give no arguments for the zoo")
    kinds = {d: dataset_entry(d).kind for d in datas}
    pairs = []

    for m in models:
        if m in BASELINES:  # a baseline goes with every data set of its kind (bow: text; hgb, linear: table; minirocket: sequence)
            pairs += [(d, m) for d in datas if kinds[d] == BASELINE_KINDS[m]]
            continue
        entry = model_entry(m)
        fits = [d for d in datas if kinds[d] in entry.kinds]
        if not fits:
            raise UsageError(f"model {m!r} takes {'/'.join(entry.kinds)} data; none of {', '.join(datas)} is")
        pairs += [(d, m) for d in fits]
    return sorted(pairs, key=lambda p: list(datas).index(p[0]))


def run_name(model: str, seed: int, sweep_key: Optional[str], value: Any) -> str:
    name = f"{model}-s{seed}"
    if sweep_key is not None:
        name += f"-{sweep_key}={value}"
    return name


def check_plan(plan: Plan, settings: Dict[str, Any]):
    """Resolve every run's config before the first trains: a bad value late in a grid must not cost the
    runs before it. Returns (settings per (data, model) pair, the keys each pair takes)."""

    settings = settings_for_pairs(plan, settings)
    sweepable = {pair: pair_settings(*pair) for pair in plan.pairs}
    for data, model, seed, value in plan.runs():
        if model not in BASELINES:
            resolve_config(TrainConfig(model=model, data=data),
                           copy.deepcopy(run_overrides(plan, settings, sweepable, data, model, seed, value)))
    return settings, sweepable


def run_overrides(plan: Plan, settings, sweepable, data: str, model: str, seed: int, value: Any) -> Dict[str, Any]:
    """The settings one run of the plan trains with (before any tuning)."""
    overrides = {k: v for k, v in settings[(data, model)].items() if k not in ("model", "data")}
    overrides.update(plan.budget)
    overrides.setdefault("progress", "none")
    overrides["seed"] = seed
    if plan.sweep_key is not None and plan.sweep_key in sweepable[(data, model)]:
        overrides[plan.sweep_key] = value
    return overrides


def settings_for_pairs(plan: Plan, settings: Dict[str, Any]) -> Dict[Tuple[str, str], Dict[str, Any]]:
    """Each (data, model) gets the settings that mean something to it: `--set seq_len=200` reaches the
    sequence data sets and not digits. A key that fits none of them is an error."""
    out, used = {}, set()
    for data, model in plan.pairs:
        valid = pair_settings(data, model)
        out[(data, model)] = {k: v for k, v in settings.items() if k in valid}
        used |= set(out[(data, model)])
    unused = sorted(set(settings) - used - {"model", "data"})
    if unused:
        raise UsageError(f"unknown setting {', '.join(map(repr, unused))} for every model and data set compared")
    if plan.sweep_key and not any(plan.sweep_key in pair_settings(d, m) for d, m in plan.pairs):
        raise UsageError(f"--sweep {plan.sweep_key}: no model or data set compared has that setting")
    return out


def pair_settings(data: str, model: str) -> set:
    """Every key that means something to MODEL trained on DATA: training fields, data options, hparams."""

    valid = set(FIELDS) | set(dataset_entry(data).options())
    if model not in BASELINES:
        valid |= set(model_entry(model).hparams())
    return valid


def comparison_title(plan: Plan) -> str:
    datas = sorted({d for d, _ in plan.pairs})
    return f"Comparison on {', '.join(datas)}"
