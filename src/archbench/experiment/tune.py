"""Hyperparameter search with Optuna (``pip install 'archbench[tune]'``).

Each model declares what may vary in its registry entry (``search_space``): key -> ("log", lo, hi) |
("float", lo, hi) | ("int", lo, hi) | ("choice", [..]). A key is a config field (lr, weight_decay,
batch_size, ...) or a model hyperparameter; it reaches the run through ``train()``'s overrides,
so it is routed exactly like ``--set key=value``. Keys the caller fixes (in ``overrides``) are
taken out of the search.

Every trial trains on the train split and is judged on the validation split -- best validation
accuracy per trial (maximised), or best validation loss for regression (minimised); the test split
never decides anything. After every epoch the trial reports that metric, and a median pruner stops
trials that fall below the median of earlier ones at the same epoch.

The study lives in ``OUT/study.db`` (SQLite, one process), or in a shared ``--storage`` (journal file
or PostgreSQL: experiment/tune_storage.py) that several workers join; an interrupted search resumes
where it stopped: finished trials are kept and it runs until the study holds ``--trials`` complete ones. Each trial's sampler
is seeded from (seed, trial number), so a resumed search proposes the same trials as one that
never stopped.

OUT holds: study.db, trials.csv, best.yaml (``archbench train --config best.yaml``), tune.json,
tune.png, tune_params.png, figures.json, archbench.json (type "tune").
"""
from __future__ import annotations

import copy
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from ..config import FIELDS, TrainConfig
from ..data import dataset_entry, load_data
from ..errors import ArchbenchError, UsageError
from ..models import model_entry
from ..rundir import open_out_dir
from .resolve import resolve_config
from .run import train
from .tune_results import fixed_settings, plain_values, write_results
from .tune_storage import counts, open_storage, run_trials

DEFAULT_SPACE = {"lr": ("log", 1e-4, 1e-2), "weight_decay": ("log", 1e-6, 1e-2)}
STUDY = "archbench"
# how a run executes, not what it learns: never pinned into best.yaml


def trial_errors() -> tuple:
    """Errors that fail one trial (recorded in trials.csv) without ending the search."""

    oom = getattr(torch.cuda, "OutOfMemoryError", MemoryError)  # a configuration too big for the GPU
    return (ArchbenchError, ValueError, MemoryError, oom)


def import_optuna():
    try:
        import optuna
    except ImportError:
        raise UsageError("archbench tune needs optuna: pip install 'archbench[tune]'") from None
    return optuna


# ---------------------------------------------------------------- the search space

def search_space(cfg: TrainConfig, overrides: Optional[Dict[str, Any]] = None,
                 space: Optional[Dict[str, Any]] = None) -> Dict[str, tuple]:
    """The model's declared space (or DEFAULT_SPACE), less the keys fixed in ``overrides``, checked."""

    entry = model_entry(cfg.model)
    space = dict(space or entry.search_space or DEFAULT_SPACE)
    valid = FIELDS | set(entry.hparams()) | set(dataset_entry(cfg.data).options())
    for key, spec in space.items():
        if key not in valid:
            raise UsageError(f"search space key {key!r} is neither a config field nor a hyperparameter of {cfg.model}")
        ok = isinstance(spec, (tuple, list)) and len(spec) >= 2 and spec[0] in ("log", "float", "int", "choice")
        if ok and spec[0] == "choice":
            ok = isinstance(spec[1], (list, tuple)) and len(spec[1]) > 0
        elif ok:
            ok = len(spec) == 3 and all(isinstance(v, (int, float)) for v in spec[1:]) and spec[1] <= spec[2]
            ok = ok and (spec[0] != "log" or spec[1] > 0)
        if not ok:
            raise UsageError(f"search space entry {key}: {spec!r} must be (log|float|int, lo, hi) or (choice, [values])")
    default = TrainConfig()
    fixed = set(overrides or {}) | set(cfg.model_args) | set(cfg.data_args)
    fixed |= {k for k in space if k in FIELDS and getattr(cfg, k) != getattr(default, k)}
    return {k: tuple(v) for k, v in space.items() if k not in fixed}


def sample(trial, space: Dict[str, tuple]) -> Dict[str, Any]:
    """Ask the trial for one value per key (choices of lists go through their JSON text)."""
    params: Dict[str, Any] = {}
    for key, spec in space.items():
        kind = spec[0]
        if kind == "log":
            params[key] = trial.suggest_float(key, float(spec[1]), float(spec[2]), log=True)
        elif kind == "float":
            params[key] = trial.suggest_float(key, float(spec[1]), float(spec[2]))
        elif kind == "int":
            params[key] = trial.suggest_int(key, int(spec[1]), int(spec[2]))
        elif plain_values(spec[1]):
            params[key] = trial.suggest_categorical(key, list(spec[1]))
        else:
            params[key] = json.loads(trial.suggest_categorical(key, [json.dumps(v) for v in spec[1]]))
    return params


# ---------------------------------------------------------------- the study

def tune(cfg: TrainConfig, overrides: Optional[Dict[str, Any]], trials: int, out_dir: Path, seed: int = 0,
         timeout: Optional[float] = None, space: Optional[Dict[str, Any]] = None, storage: Optional[str] = None,
         study_name: Optional[str] = None) -> Dict[str, Any]:
    """Work on a study until it holds ``trials`` complete trials (resuming OUT/study.db, or the shared
    ``storage``: experiment/tune_storage.py); write the results into ``out_dir``.

    Returns {"best_params", "best_value", "n_trials", "study", "metric", "direction"}.
    """
    optuna = import_optuna()

    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise UsageError(f"--trials must be a positive whole number, got {trials!r}")
    overrides = dict(overrides or {})
    resolved = resolve_config(copy.deepcopy(cfg), overrides)  # bad names and values fail here, before any trial
    space = search_space(cfg, overrides, space)
    if not space:
        raise UsageError(f"nothing to tune: every key of {cfg.model}'s search space is fixed by the settings")
    kind = dataset_entry(cfg.data).kind
    regression = kind == "forecast"
    if kind == "table":  # a table's task follows its target column: load it (tables are small) to know
        regression = load_data(resolved.data, data_dir=resolved.data_dir, seed=resolved.data_seed,
                               **resolved.data_args).task == "regression"
    metric, direction = ("val_loss", "minimize") if regression else ("val_acc", "maximize")
    out_dir = Path(out_dir)

    open_out_dir(out_dir, "tune")

    shared = open_storage(optuna, storage, out_dir)
    name = study_name or STUDY
    db = shared.where
    identity = {"model": cfg.model, "data": cfg.data, "metric": metric,
                "space": json.loads(json.dumps({k: list(v) for k, v in space.items()})),
                "settings": fixed_settings(cfg, overrides)}
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = open_study(optuna, shared.storage, direction, seed, 0, name)
        check_identity(study, identity, out_dir)
        c = counts(optuna, study)
        if c["complete"] or c["running"]:
            print(f"joining {db}: {c['complete']} complete, {c['pruned']} pruned, {c['fail']} failed, "
                  f"{c['running']} running; {trials} complete wanted", file=sys.stderr)
        deadline = None if timeout is None else time.monotonic() + timeout
        objective = make_objective(optuna, cfg, overrides, space, metric)
        # each trial's sampler is seeded by its number: the same proposals with or without interruptions
        study = run_trials(shared, name, lambda n: open_study(optuna, shared.storage, direction, seed, n, name),
                           objective, trials, deadline, lambda t: report_trial(optuna, study, trials, metric, t),
                           lambda m: print(m, file=sys.stderr), errors=trial_errors())
    finally:
        optuna.logging.set_verbosity(verbosity)
    return write_results(optuna, study, cfg, overrides, space, metric, out_dir, db)


def open_study(optuna, storage, direction: str, seed: int, number: int, name: str = STUDY):
    sampler = optuna.samplers.TPESampler(seed=(seed * 1_000_003 + number) % 2**32)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    return optuna.create_study(storage=storage, study_name=name, direction=direction, sampler=sampler,
                               pruner=pruner, load_if_exists=True)


def check_identity(study, identity: Dict[str, Any], out_dir: Path) -> None:
    """One study per directory: refuse to mix trials of another model, data set, space or fixed
    settings (trials at seq_len=50 do not rank configurations for seq_len=200). A study written
    before the settings were recorded is checked on what it recorded."""
    old = study.user_attrs.get("archbench")
    if old is None:
        study.set_user_attr("archbench", identity)
        return
    differ = [k for k in identity if k in old and old[k] != identity[k]]
    if not differ:
        return
    if differ == ["settings"]:
        was, now = old["settings"], identity["settings"]
        keys = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
        what = "settings " + ", ".join(f"{k} ({was.get(k, 'unset')} there, {now.get(k, 'unset')} here)" for k in keys)
    else:
        what = ", ".join({"data": "data set", "space": "search space"}.get(k, k) for k in differ)
    raise UsageError(f"{out_dir} holds a study of {old.get('model')} on {old.get('data')} that differs in {what}; "
                     f"use another --out")


def make_objective(optuna, cfg: TrainConfig, overrides: Dict[str, Any], space: Dict[str, tuple], metric: str):
    maximize = metric == "val_acc"
    errors = trial_errors()

    def objective(trial) -> float:
        params = sample(trial, space)
        trial_overrides = {**overrides, **params}
        if "progress" not in overrides and cfg.progress == "auto":
            trial_overrides["progress"] = "none"  # one line per trial instead (report_trial)

        def on_epoch(trainer) -> None:
            row = trainer.history[-1]
            trial.report(float(row[metric]), int(row["epoch"]))
            trial.set_user_attr("epochs", int(row["epoch"]))
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            result = train(copy.deepcopy(cfg), trial_overrides, write=False, on_epoch=on_epoch)
        except errors as e:
            trial.set_user_attr("error", str(e).splitlines()[0][:300] if str(e) else type(e).__name__)
            raise
        values = [float(r[metric]) for r in result.history if r.get(metric) is not None]
        if not values or not all(math.isfinite(v) for v in values):
            return float("nan")  # a diverged run: Optuna records it as failed
        return max(values) if maximize else min(values)

    return objective


def report_trial(optuna, study, total: int, metric: str, t=None) -> None:
    t = study.trials[-1] if t is None else t
    S = optuna.trial.TrialState
    acc = metric == "val_acc"
    fmt = (lambda v: f"{100 * v:.2f}%") if acc else (lambda v: f"{v:.4g}")
    params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in t.params.items())
    secs = t.duration.total_seconds() if t.duration else 0.0
    if t.state == S.COMPLETE:
        what = f"{'val acc' if acc else 'val loss'} {fmt(t.value)}"
    elif t.state == S.PRUNED:
        what = f"pruned after epoch {t.user_attrs.get('epochs', '?')}"
    else:
        what = f"failed ({t.user_attrs.get('error', 'see trials.csv')})"
    try:
        best = f" [best {fmt(study.best_value)}]"
    except ValueError:
        best = ""
    done = len(study.get_trials(deepcopy=False, states=(S.COMPLETE,)))  # whichever worker ran them
    print(f"trial {t.number} ({done} of {total} complete): {what} in {secs:.1f}s ({params}){best}", file=sys.stderr)


# ---------------------------------------------------------------- results

