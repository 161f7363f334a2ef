"""``archbench compare``: every model on the same data, seeds and budget, side by side.

    OUT/
      archbench.json, comparison.json      what ran, and where each run's directory is
      results.csv                          one row per run (per seed, per swept value)
      comparison.csv / comparison.md       one row per model and data set: mean ± std over seeds (a sweep:
                                           at its last value; a data_seed sweep: over every draw)
      significance.md / significance.json  each model against the best, paired on the same test examples
      ranks.md                             average rank and wins, when several data sets are compared
      when_to_use.md                       the notebook's 8.2 table, with what this comparison measured
      comparison.png, cost.png, sweep_<key>.png, figures.json, report.html
      runs/<data>/<model>-s<seed>[-<key>=<value>]/   each run's own directory
"""
from __future__ import annotations

import copy
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..baselines import BASELINES
from ..config import RESUME_RUNTIME, TrainConfig, epochs_for_steps, read_json_object
from ..data import load_data
from ..errors import CheckpointError, DivergedError
from ..files import safe_name, write_json
from ..rundir import marker, open_out_dir, read_run_config, run_state
from .cluster import RayPool, executor, metrics_only
from .compare_tables import score_text, write_outputs
from .plan import Plan, budget_text, check_plan, comparison_title, run_name, run_overrides
from .resolve import resolve_config
from .results import ComparisonResult
from .run import train
from .tune import tune


def compare(plan: Plan, settings: Dict[str, Any], out: Path, tune_trials: int = 0, jobs: int = 1,
            resume: bool = False, log=lambda s: print(s, file=sys.stderr, flush=True), cluster: Optional[str] = None,
            address: Optional[str] = None, shared_fs: bool = False) -> Dict[str, Any]:
    """Run the plan and write the comparison directory; returns the per-run rows.

    jobs > 1 trains that many runs at once, in separate processes with the CPU threads split between
    them: small sequence models use one core badly, so two one-thread runs finish sooner than two
    two-thread runs in turn (results then match a ``--threads 1`` run, not the default one).
    resume keeps the runs OUT already holds, finished with the same settings, and continues the
    interrupted ones from their checkpoints; without it every run trains anew."""

    settings, sweepable = check_plan(plan, settings)
    open_out_dir(out, "comparison")
    write_json(out / "archbench.json", marker("comparison", comparison_title(plan)))
    # a row dict; or (future, label, base) while a worker trains it; or ("same as", index, base) for a
    # pair the swept setting means nothing to
    rows: List[Any] = []
    runs_index: List[Dict[str, Any]] = []
    cache: Dict[Any, Any] = {}
    total = sum(1 for _ in plan.runs())
    pool = executor(jobs, cluster, address, shared_fs)  # None: in this process; local processes; Ray tasks
    tuned = tune_pairs(plan, settings, sweepable, tune_trials, out, log, pool) if tune_trials else {}
    t_all = time.perf_counter()
    for i, (data, model, seed, value) in enumerate(plan.runs(), 1):
        overrides = run_overrides(plan, settings, sweepable, data, model, seed, value)
        base = {"data": data, "model": model, "seed": seed, **({plan.sweep_key: value} if plan.sweep_key else {})}
        if plan.sweep_key is not None and plan.sweep_key not in sweepable[(data, model)] and value != plan.sweep_values[0]:
            # the setting means nothing to this pair: its one run stands for every value (a flat line)
            first = next(j for j, (d, m, sd, _) in enumerate(plan.runs()) if (d, m, sd) == (data, model, seed))
            rows.append(("same as", first, base))
            continue
        overrides.update(tuned.get((data, model), {}))
        rel = Path("runs") / safe_name(data.split("/")[-1]) / run_name(model, seed, plan.sweep_key, value)
        base["run_dir"] = str(rel)
        runs_index.append({"model": model, "data": data, "seed": seed, "dir": str(rel),
                           **({plan.sweep_key: value} if plan.sweep_key else {})})
        cfg = TrainConfig(model=model, data=data, out=str(out / rel))
        if model in BASELINES:
            rows.append({**base, **train(cfg, copy.deepcopy(overrides), replace_interrupted=True).metrics})
            continue
        cfg = resolve_config(cfg, copy.deepcopy(overrides))
        label = f"[{i}/{total}] {model} on {data} (seed {seed}" + (f", {plan.sweep_key}={value}" if plan.sweep_key else "") + ")"
        state, cfg = earlier_run(out / rel, cfg, resume)
        if state == "finished":
            m = read_json_object(out / rel / "metrics.json")
            log(f"{label} kept from the earlier run: {score_text(m)}")
            rows.append({**base, **m})
            continue
        cont = out / rel if state == "interrupted" else None
        log(f"{label} ..." + {"interrupted": " continuing the interrupted run",
                              "changed": " (the earlier run had other settings: training anew)",
                              "replaced": " (replacing an interrupted run: --resume continues it)"}.get(state, ""))
        if pool is not None:
            if cfg.threads is None:  # a cluster task: 1 thread per run unless --threads says otherwise
                cfg.threads = max(1, (os.cpu_count() or 1) // jobs) if cluster is None else 1
            rows.append((pool.submit(train_metrics, cfg, cont), label, base))
            continue
        key = (cfg.data, cfg.data_dir, cfg.data_seed, json.dumps(cfg.data_args, sort_keys=True))
        if key not in cache:
            cache.clear()  # one data set in memory at a time
            cache[key] = load_data(cfg.data, data_dir=cfg.data_dir, seed=cfg.data_seed, **cfg.data_args)
        try:
            m = metrics_only(train(cfg, bundle=cache[key], resume=cont, replace_interrupted=True).metrics)
        except DivergedError as e:  # recorded as diverged; the other runs go on
            m = diverged_row(e)
        log(f"{label} {score_text(m)}")
        rows.append({**base, **m})
    done = sum(isinstance(r, dict) for r in rows)
    for j, r in enumerate(rows):  # gather the workers' results, in plan order
        if isinstance(r, tuple) and r[0] != "same as":
            try:
                m = r[0].result()
            except DivergedError as e:
                m = diverged_row(e)
            done += 1
            log(f"{r[1]} {score_text(m)}" + (f" [{done}/{total} done]" if cluster else ""))
            rows[j] = {**r[2], **m}
    if pool is not None:
        pool.shutdown()
    for j, r in enumerate(rows):
        if isinstance(r, tuple):
            rows[j] = {**rows[r[1]], **r[2]}
    write_json(out / "comparison.json", {"runs": runs_index, "budget": budget_text(plan.budget), "seeds": plan.seeds,
                                         "sweep": {"key": plan.sweep_key, "values": plan.sweep_values},
                                         "seconds": round(time.perf_counter() - t_all, 2), "jobs": jobs,
                                         **({"cluster": cluster} if cluster else {})})
    write_outputs(out, rows, plan)
    return ComparisonResult(rows, out)


def earlier_run(run_dir: Path, cfg: TrainConfig, resume: bool) -> Tuple[Optional[str], TrainConfig]:
    """What RUN_DIR already holds for this run of the grid, and the config to go on with.

    With resume: "finished" or "interrupted" when its settings equal cfg's (an interrupted run goes on
    with the settings it started with, whose lr a range test may have fixed), "changed" when they do
    not. Without: "replaced" for an interrupted run, which starts again. None: nothing there."""

    state = run_state(run_dir)
    if not resume:
        return ("replaced" if state == "interrupted" else None), cfg
    if state is None:
        return None, cfg
    try:
        config = read_run_config(run_dir)
    except CheckpointError:
        return None, cfg
    held = config["train"]
    want = json.loads(json.dumps(cfg.to_dict()))  # tuples as lists, as the run's config.json has them
    n_train = (config.get("data") or {}).get("sizes", {}).get("train")
    if all(isinstance(v, int) for v in (n_train, cfg.epochs, cfg.batch_size)):
        # config.json holds the epochs after the recipe's step floor (baselines have no epochs)
        want["epochs"] = epochs_for_steps(cfg, n_train)
    runtime = ("out",) + RESUME_RUNTIME
    if any(held.get(k) != v for k, v in want.items() if k not in runtime and not (k == "lr" and v == "auto")):
        return "changed", cfg
    if state == "finished":
        return "finished", cfg
    return "interrupted", TrainConfig.from_dict({**held, **{k: want[k] for k in runtime}})


def diverged_row(e: Exception) -> Dict[str, Any]:
    """The row of a run stopped by a non-finite loss: in results.csv, left out of the tables."""
    return {"diverged": True, "stop_reason": str(e)}


def train_metrics(cfg: TrainConfig, resume: Optional[Path] = None) -> Dict[str, Any]:
    """One run in a worker process (--jobs): it writes its run directory and returns its metrics."""

    return metrics_only(train(cfg, resume=resume, replace_interrupted=True).metrics)


def tune_pairs(plan: Plan, settings, sweepable, trials: int, out: Path, log,
               pool) -> Dict[Tuple[str, str], Dict[str, Any]]:
    """``--tune N``: a study per (data, model) pair, with the settings of its first run, before any run
    trains; on a Ray cluster every pair's study is a task of its own, all at once. Returns the best
    parameters of each pair."""
    bases: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for data, model, seed, value in plan.runs():
        if (data, model) not in bases:
            overrides = run_overrides(plan, settings, sweepable, data, model, seed, value)
            bases[(data, model)] = {k: v for k, v in overrides.items() if k != "seed"}
    folder = lambda data, model: out / "tuning" / data / model
    if isinstance(pool, RayPool):
        futures = {(d, m): pool.submit_tune(m, d, base, trials, folder(d, m)) for (d, m), base in bases.items()}
        log(f"tuning {len(futures)} model(s) on the cluster: {trials} trials each")
        return {pair: f.result() for pair, f in futures.items()}
    tuned = {}
    for (data, model), base in bases.items():
        log(f"tuning {model} on {data}: {trials} trials")
        tuned[(data, model)] = dict(tune(TrainConfig(model=model, data=data), base, trials, folder(data, model),
                                         seed=0)["best_params"])
    return tuned


# ---------------------------------------------------------------- tables and figures

