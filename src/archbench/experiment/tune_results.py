"""What a tuning study writes: results.json, trials.csv, best.yaml and the figures of its trials."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from matplotlib.ticker import MaxNLocator, NullFormatter

from ..config import FIELDS, TrainConfig
from ..errors import ArchbenchError
from ..files import atomic_write_text, csv_text, write_json
from ..rundir import marker
from ..viz.canvas import plt  # Figure objects: the user's backend is left alone

EXECUTION = {"device", "threads", "progress", "out", "tensorboard", "compile", "precision", "checkpoint_every",
             "eval_test_each_epoch", "channels_last"}


def plain_values(values) -> bool:
    return all(v is None or isinstance(v, (bool, int, float, str)) for v in values)


def decode(params: Dict[str, Any], space: Dict[str, tuple]) -> Dict[str, Any]:
    """Optuna's stored params -> the values the run used."""
    out = {}
    for k, v in params.items():
        spec = space.get(k)
        out[k] = json.loads(v) if spec and spec[0] == "choice" and not plain_values(spec[1]) else v
    return out


def count_finished(optuna, study) -> int:
    S = optuna.trial.TrialState
    return len(study.get_trials(deepcopy=False, states=(S.COMPLETE, S.PRUNED)))


def best_reported(trial, maximize: bool) -> Optional[float]:
    vals = [v for v in trial.intermediate_values.values() if v is not None and math.isfinite(v)]
    if not vals:
        return None
    return max(vals) if maximize else min(vals)


def write_results(optuna, study, cfg: TrainConfig, overrides: Dict[str, Any], space: Dict[str, tuple], metric: str,
                  out_dir: Path, db: Path) -> Dict[str, Any]:
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
    finished = sum(t.state == S.COMPLETE for t in all_trials)  # pruned and failed ones: "states"
    summary = {"best_params": best_params, "best_value": float(best.value), "best_trial": best.number,
               "n_trials": finished, "study": str(db), "metric": metric,
               "direction": "maximize" if maximize else "minimize"}
    write_json(out_dir / "tune.json", {**summary, "model": cfg.model, "data": cfg.data, "fixed": fixed,
                                       "space": {k: list(v) for k, v in space.items()},
                                       "states": {s.name.lower(): sum(t.state == s for t in all_trials)
                                                  for s in (S.COMPLETE, S.PRUNED, S.FAIL)}})
    return summary


def write_trials_csv(path: Path, trials, space: Dict[str, tuple], maximize: bool) -> None:
    body = []
    for t in trials:
        params = decode(t.params, space)
        br = best_reported(t, maximize)
        body.append([t.number, t.state.name.lower(), "" if t.value is None else f"{t.value:.6g}",
                     "" if br is None else f"{br:.6g}", t.user_attrs.get("epochs", ""),
                     f"{t.duration.total_seconds():.2f}" if t.duration else "",
                     *[json.dumps(params[k]) if isinstance(params.get(k), list) else params.get(k, "") for k in space],
                     t.user_attrs.get("error", "")])
    header = ["number", "state", "value", "best_reported", "epochs", "seconds", *space, "error"]
    atomic_write_text(path, csv_text(header, body))


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
    score = f"validation accuracy {100 * best.value:.2f}%" if metric == "val_acc" else f"validation loss {best.value:.6g}"
    head = (f"# best of {n} trials (archbench tune): trial {best.number}, {score}\n"
            f"# train it: archbench train --config best.yaml (flags such as --epochs override these)\n")
    body = {"model": cfg.model, "data": cfg.data, **fixed, **json.loads(json.dumps(params))}
    return head + yaml.safe_dump(body, sort_keys=False, default_flow_style=False)


def plot_tune(trials, S, metric: str, out_dir: Path, title: str, space: Dict[str, tuple]) -> List[Dict[str, str]]:
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
