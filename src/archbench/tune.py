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

The study lives in ``OUT/study.db`` (SQLite), so an interrupted search resumes where it stopped:
finished trials (complete or pruned) are kept and only the missing ones run. Each trial's sampler
is seeded from (seed, trial number), so a resumed search proposes the same trials as one that
never stopped.

OUT holds: study.db, trials.csv, best.yaml (``archbench train --config best.yaml``), tune.json,
tune.png, tune_params.png, figures.json, archbench.json (type "tune").
"""
from __future__ import annotations

import copy
import csv
import io
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from .config import FIELDS, TrainConfig
from .errors import ArchbenchError, UsageError

DEFAULT_SPACE = {"lr": ("log", 1e-4, 1e-2), "weight_decay": ("log", 1e-6, 1e-2)}
STUDY = "archbench"
# how a run executes, not what it learns: never pinned into best.yaml

EXECUTION = {"device", "threads", "progress", "out", "tensorboard", "compile", "precision", "checkpoint_every",
             "eval_test_each_epoch", "channels_last"}


def trial_errors() -> tuple:
    """Errors that fail one trial (recorded in trials.csv) without ending the search."""
    import torch

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
    from .data import dataset_entry
    from .models import model_entry

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


def _plain(values) -> bool:
    return all(v is None or isinstance(v, (bool, int, float, str)) for v in values)


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
        elif _plain(spec[1]):
            params[key] = trial.suggest_categorical(key, list(spec[1]))
        else:
            params[key] = json.loads(trial.suggest_categorical(key, [json.dumps(v) for v in spec[1]]))
    return params


def decode(params: Dict[str, Any], space: Dict[str, tuple]) -> Dict[str, Any]:
    """Optuna's stored params -> the values the run used."""
    out = {}
    for k, v in params.items():
        spec = space.get(k)
        out[k] = json.loads(v) if spec and spec[0] == "choice" and not _plain(spec[1]) else v
    return out


# ---------------------------------------------------------------- the study

def tune(cfg: TrainConfig, overrides: Optional[Dict[str, Any]], trials: int, out_dir: Path, seed: int = 0,
         timeout: Optional[float] = None, space: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Search ``trials`` configurations (resuming OUT/study.db); write the results into ``out_dir``.

    Returns {"best_params", "best_value", "n_trials", "study", "metric", "direction"}.
    """
    optuna = import_optuna()
    from .data import dataset_entry
    from .train.run import resolve_config

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
        from .data import load_data

        regression = load_data(resolved.data, data_dir=resolved.data_dir, seed=resolved.data_seed,
                               **resolved.data_args).task == "regression"
    metric, direction = ("val_loss", "minimize") if regression else ("val_acc", "maximize")
    out_dir = Path(out_dir)
    from .train.run import open_out_dir

    open_out_dir(out_dir, "tune")
    db = out_dir / "study.db"
    storage = optuna.storages.RDBStorage(f"sqlite:///{db.resolve()}")
    identity = {"model": cfg.model, "data": cfg.data, "metric": metric,
                "space": json.loads(json.dumps({k: list(v) for k, v in space.items()})),
                "settings": fixed_settings(cfg, overrides)}
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = open_study(optuna, storage, direction, seed, 0)
        check_identity(study, identity, out_dir)
        fail_stale(optuna, storage, study)
        done = count_finished(optuna, study)
        todo = max(0, trials - done)
        if done:
            print(f"resuming {db}: {done} trial(s) finished, {todo} to run", file=sys.stderr)
        deadline = None if timeout is None else time.monotonic() + timeout
        objective = make_objective(optuna, cfg, overrides, space, metric)
        for _ in range(todo):
            if deadline is not None and time.monotonic() >= deadline:
                print(f"time budget ({timeout:g} s) reached; rerun to continue", file=sys.stderr)
                break
            # a fresh sampler seeded by the trial number: the same proposals with or without interruptions
            study = open_study(optuna, storage, direction, seed, len(study.get_trials(deepcopy=False)))
            study.optimize(objective, n_trials=1, catch=trial_errors())
            report_trial(optuna, study, trials, metric)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return write_results(optuna, study, cfg, overrides, space, metric, out_dir, db)


def open_study(optuna, storage, direction: str, seed: int, number: int):
    sampler = optuna.samplers.TPESampler(seed=(seed * 1_000_003 + number) % 2**32)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    return optuna.create_study(storage=storage, study_name=STUDY, direction=direction, sampler=sampler,
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


def fail_stale(optuna, storage, study) -> None:
    """Trials left RUNNING by a killed search will never finish: mark them failed so they are rerun."""
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    if not running:
        return
    study_id = storage.get_study_id_from_name(STUDY)
    for t in running:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        storage.set_trial_user_attr(trial_id, "error", "interrupted")
        storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)


def count_finished(optuna, study) -> int:
    S = optuna.trial.TrialState
    return len(study.get_trials(deepcopy=False, states=(S.COMPLETE, S.PRUNED)))


def make_objective(optuna, cfg: TrainConfig, overrides: Dict[str, Any], space: Dict[str, tuple], metric: str):
    from .train.run import train

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


def best_reported(trial, maximize: bool) -> Optional[float]:
    vals = [v for v in trial.intermediate_values.values() if v is not None and math.isfinite(v)]
    if not vals:
        return None
    return max(vals) if maximize else min(vals)


def report_trial(optuna, study, total: int, metric: str) -> None:
    t = study.trials[-1]
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
    print(f"trial {t.number} ({t.number + 1} of {total}): {what} in {secs:.1f}s ({params}){best}", file=sys.stderr)


# ---------------------------------------------------------------- results

def write_results(optuna, study, cfg: TrainConfig, overrides: Dict[str, Any], space: Dict[str, tuple], metric: str,
                  out_dir: Path, db: Path) -> Dict[str, Any]:
    from .train.checkpoint import atomic_write_text
    from .train.run import marker, write_json

    S = optuna.trial.TrialState
    all_trials = study.get_trials(deepcopy=False)
    maximize = metric == "val_acc"
    write_trials_csv(out_dir / "trials.csv", all_trials, space, maximize)
    complete = [t for t in all_trials if t.state == S.COMPLETE]
    title = f"Hyperparameter search: {cfg.model} on {cfg.data}"
    write_json(out_dir / "archbench.json", marker("tune", title))
    if not complete:
        raise ArchbenchError(f"no trial finished (see {out_dir / 'trials.csv'})")
    best = study.best_trial
    best_params = decode(best.params, space)
    fixed = fixed_settings(cfg, overrides)
    atomic_write_text(out_dir / "best.yaml", best_yaml(cfg, fixed, best_params, best, metric, len(all_trials)))
    figures = plot_tune(all_trials, S, metric, out_dir, title, space)
    write_json(out_dir / "figures.json", figures)
    finished = count_finished(optuna, study)
    summary = {"best_params": best_params, "best_value": float(best.value), "best_trial": best.number,
               "n_trials": finished, "study": str(db), "metric": metric,
               "direction": "maximize" if maximize else "minimize"}
    write_json(out_dir / "tune.json", {**summary, "model": cfg.model, "data": cfg.data, "fixed": fixed,
                                       "space": {k: list(v) for k, v in space.items()},
                                       "states": {s.name.lower(): sum(t.state == s for t in all_trials)
                                                  for s in (S.COMPLETE, S.PRUNED, S.FAIL)}})
    return summary


def write_trials_csv(path: Path, trials, space: Dict[str, tuple], maximize: bool) -> None:
    from .train.checkpoint import atomic_write_text

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["number", "state", "value", "best_reported", "epochs", "seconds", *space, "error"])
    for t in trials:
        params = decode(t.params, space)
        br = best_reported(t, maximize)
        w.writerow([t.number, t.state.name.lower(), "" if t.value is None else f"{t.value:.6g}",
                    "" if br is None else f"{br:.6g}", t.user_attrs.get("epochs", ""),
                    f"{t.duration.total_seconds():.2f}" if t.duration else "",
                    *[json.dumps(params[k]) if isinstance(params.get(k), list) else params.get(k, "") for k in space],
                    t.user_attrs.get("error", "")])
    atomic_write_text(path, buf.getvalue())


def fixed_settings(cfg: TrainConfig, overrides: Dict[str, Any]) -> Dict[str, Any]:
    """What the trials shared: non-default config fields, model/data arguments and overrides."""
    default = TrainConfig()
    fixed: Dict[str, Any] = {}
    for k in sorted(FIELDS - EXECUTION - {"model", "data"}):
        v = getattr(cfg, k)
        if v != getattr(default, k):
            fixed[k] = v
    fixed.update(cfg.model_args)
    fixed.update(cfg.data_args)
    for k, v in overrides.items():
        if k in ("model_args", "data_args"):
            fixed.update(v or {})
        elif k not in EXECUTION and k not in ("model", "data"):
            fixed[k] = v
    return json.loads(json.dumps(fixed, default=str))  # tuples -> lists: plain YAML


def best_yaml(cfg: TrainConfig, fixed: Dict[str, Any], params: Dict[str, Any], best, metric: str, n: int) -> str:
    import yaml

    score = f"validation accuracy {100 * best.value:.2f}%" if metric == "val_acc" else f"validation loss {best.value:.6g}"
    head = (f"# best of {n} trials (archbench tune): trial {best.number}, {score}\n"
            f"# train it: archbench train --config best.yaml (flags such as --epochs override these)\n")
    body = {"model": cfg.model, "data": cfg.data, **fixed, **json.loads(json.dumps(params))}
    return head + yaml.safe_dump(body, sort_keys=False, default_flow_style=False)


def plot_tune(trials, S, metric: str, out_dir: Path, title: str, space: Dict[str, tuple]) -> List[Dict[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, NullFormatter

    acc = metric == "val_acc"
    scale = 100.0 if acc else 1.0
    label = "best validation accuracy (%)" if acc else "best validation loss"
    better = max if acc else min
    done = [t for t in trials if t.state == S.COMPLETE]
    pruned = [(t, best_reported(t, acc)) for t in trials if t.state == S.PRUNED]
    pruned = [(t, v) for t, v in pruned if v is not None]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=130)
    ax.plot([t.number for t in done], [scale * t.value for t in done], "o", color="C0", label="complete trial",
            zorder=3)
    if pruned:
        ax.plot([t.number for t, _ in pruned], [scale * v for _, v in pruned], "x", color="0.5", ms=7,
                label="pruned trial (best epoch before it stopped)")
    xs, ys, run = [], [], None
    for t in sorted(done, key=lambda t: t.number):
        run = t.value if run is None else better(run, t.value)
        xs.append(t.number)
        ys.append(scale * run)
    if xs:
        xs.append(max(t.number for t in trials))
        ys.append(ys[-1])
        ax.step(xs, ys, where="post", color="C1", lw=2, label="best so far")
    failed = sum(t.state == S.FAIL for t in trials)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial number" + (f"  ({failed} failed, not shown)" if failed else ""))
    ax.set_ylabel(label)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(out_dir / "tune.png")
    plt.close(fig)
    figures = [{"file": "tune.png", "title": "Optimisation history",
                "caption": f"{label.capitalize()} of each trial and the best so far. Grey crosses are trials the "
                           "median pruner stopped early because they trailed earlier trials at the same epoch; a "
                           "flat best-so-far line means more trials are unlikely to help."}]

    keys = list(space)
    if done and keys:
        cols = min(3, len(keys))
        rows = math.ceil(len(keys) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), dpi=120, squeeze=False)
        for i, (ax, key) in enumerate(zip(axes.flat, keys)):
            spec = space[key]
            vals = [decode(t.params, space).get(key) for t in done]
            ys = [scale * t.value for t in done]
            if spec[0] == "choice":
                labels = [json.dumps(v) if isinstance(v, list) else str(v) for v in spec[1]]
                xs_ = [labels.index(json.dumps(v) if isinstance(v, list) else str(v)) for v in vals]
                ax.set_xticks(range(len(labels)))
                ax.set_xticklabels(labels, fontsize=7, rotation=30 if len(labels) > 4 else 0)
            else:
                xs_ = vals
                if spec[0] == "log":
                    ax.set_xscale("log")
                    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide over one decade
            ax.scatter(xs_, ys, s=18, color="C0")
            ax.set_xlabel(key)
            ax.set_ylabel(label if i % cols == 0 else "", fontsize=8)
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(keys):]:
            ax.axis("off")
        fig.suptitle(f"{title}: score by hyperparameter", fontsize=10)
        fig.tight_layout()
        fig.savefig(out_dir / "tune_params.png")
        plt.close(fig)
        figures.append({"file": "tune_params.png", "title": "Score by hyperparameter",
                        "caption": "Each complete trial's score against each searched value. A clear trend shows a "
                                   "hyperparameter that matters; a flat cloud, one that barely does in this range."})
    return figures
