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
import csv
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .config import RESUME_RUNTIME, TrainConfig, parse_value, read_json_object
from .errors import UsageError

ZOO = [("digits", ["mlp", "cnn"]), ("seq-sum", ["rnn", "birnn", "lstm", "gru", "lstm-attn", "transformer"])]

WHEN_TO_USE = [
    ("mlp", "Tabular data, simple classification", "Simple, fast, easy to interpret",
     "Cannot use spatial or temporal structure"),
    ("cnn", "Images, spatial data", "Translation invariant, parameter efficient", "Fixed input size, no temporal modelling"),
    ("rnn", "Short, simple sequences", "Handles variable-length input", "Vanishing gradients, slow to train"),
    ("birnn", "Sequences whose whole extent is known", "Sees past and future context", "Twice the cost, not causal"),
    ("lstm", "Long sequences, time series", "Captures long-range dependencies",
     "A third more parameters than a GRU of the same size"),
    ("gru", "Like LSTM", "Fewer parameters at the same size; faster per step on a GPU",
     "Sometimes slightly less expressive than LSTM"),
    ("lstm-attn", "Sequences where a few steps matter", "Attention shows which steps it used", "Extra cost of attention"),
    ("transformer", "Text, complex sequences", "Parallel over time, long-range dependencies",
     "Memory quadratic in sequence length"),
]


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
    from .data import dataset_entry
    from .models import model_entry

    if not models and not datas:
        return [(d, m) for d, ms in ZOO for m in ms]
    if not datas:
        datas = ["digits"]
    if not models:
        raise UsageError("name the models to compare (see `archbench models`), or give no arguments for the zoo")
    kinds = {d: dataset_entry(d).kind for d in datas}
    pairs = []
    from .train.run import BASELINES

    for m in models:
        if m in BASELINES:  # the bag-of-words baseline goes with every text data set
            pairs += [(d, m) for d in datas if kinds[d] == "text"]
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


def compare(plan: Plan, settings: Dict[str, Any], out: Path, tune_trials: int = 0, jobs: int = 1,
            resume: bool = False, log=lambda s: print(s, file=sys.stderr, flush=True)) -> Dict[str, Any]:
    """Run the plan and write the comparison directory; returns the per-run rows.

    jobs > 1 trains that many runs at once, in separate processes with the CPU threads split between
    them: small sequence models use one core badly, so two one-thread runs finish sooner than two
    two-thread runs in turn (results then match a ``--threads 1`` run, not the default one).
    resume keeps the runs OUT already holds, finished with the same settings, and continues the
    interrupted ones from their checkpoints; without it every run trains anew."""
    from .data import load_data
    from .train.run import BASELINES, marker, open_out_dir, resolve_config, train, write_json

    settings, sweepable = check_plan(plan, settings)
    open_out_dir(out, "comparison")
    write_json(out / "archbench.json", marker("comparison", comparison_title(plan)))
    # a row dict; or (future, label, base) while a worker trains it; or ("same as", index, base) for a
    # pair the swept setting means nothing to
    rows: List[Any] = []
    runs_index: List[Dict[str, Any]] = []
    cache: Dict[Any, Any] = {}
    tuned: Dict[Tuple[str, str], Dict[str, Any]] = {}
    total = sum(1 for _ in plan.runs())
    pool = process_pool(jobs) if jobs > 1 else None
    t_all = time.perf_counter()
    for i, (data, model, seed, value) in enumerate(plan.runs(), 1):
        overrides = run_overrides(plan, settings, sweepable, data, model, seed, value)
        base = {"data": data, "model": model, "seed": seed, **({plan.sweep_key: value} if plan.sweep_key else {})}
        if plan.sweep_key is not None and plan.sweep_key not in sweepable[(data, model)] and value != plan.sweep_values[0]:
            # the setting means nothing to this pair: its one run stands for every value (a flat line)
            first = next(j for j, (d, m, sd, _) in enumerate(plan.runs()) if (d, m, sd) == (data, model, seed))
            rows.append(("same as", first, base))
            continue
        if tune_trials and (data, model) not in tuned:
            tuned[(data, model)] = tune_pair(model, data, overrides, tune_trials, out / "tuning" / data / model, log)
        overrides.update(tuned.get((data, model), {}))
        rel = Path("runs") / safe(data) / run_name(model, seed, plan.sweep_key, value)
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
            if cfg.threads is None:
                cfg.threads = max(1, (os.cpu_count() or 1) // jobs)
            rows.append((pool.submit(train_metrics, cfg, cont), label, base))
            continue
        key = (cfg.data, cfg.data_dir, cfg.data_seed, json.dumps(cfg.data_args, sort_keys=True))
        if key not in cache:
            cache.clear()  # one data set in memory at a time
            cache[key] = load_data(cfg.data, data_dir=cfg.data_dir, seed=cfg.data_seed, **cfg.data_args)
        m = metrics_only(train(cfg, bundle=cache[key], resume=cont, replace_interrupted=True))
        log(f"{label} {score_text(m)}")
        rows.append({**base, **m})
    for j, r in enumerate(rows):  # gather the workers' results, in plan order
        if isinstance(r, tuple) and r[0] != "same as":
            m = r[0].result()
            log(f"{r[1]} {score_text(m)}")
            rows[j] = {**r[2], **m}
    if pool is not None:
        pool.shutdown()
    for j, r in enumerate(rows):
        if isinstance(r, tuple):
            rows[j] = {**rows[r[1]], **r[2]}
    write_json(out / "comparison.json", {"runs": runs_index, "budget": budget_text(plan.budget), "seeds": plan.seeds,
                                         "sweep": {"key": plan.sweep_key, "values": plan.sweep_values},
                                         "seconds": round(time.perf_counter() - t_all, 2), "jobs": jobs})
    write_outputs(out, rows, plan)
    return {"rows": rows, "out": out}


def check_plan(plan: Plan, settings: Dict[str, Any]):
    """Resolve every run's config before the first trains: a bad value late in a grid must not cost the
    runs before it. Returns (settings per (data, model) pair, the keys each pair takes)."""
    from .train.run import BASELINES, resolve_config

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


def earlier_run(run_dir: Path, cfg: TrainConfig, resume: bool) -> Tuple[Optional[str], TrainConfig]:
    """What RUN_DIR already holds for this run of the grid, and the config to go on with.

    With resume: "finished" or "interrupted" when its settings equal cfg's (an interrupted run goes on
    with the settings it started with, whose lr a range test may have fixed), "changed" when they do
    not. Without: "replaced" for an interrupted run, which starts again. None: nothing there."""
    from .errors import CheckpointError
    from .train.run import read_run_config, run_state

    state = run_state(run_dir)
    if not resume:
        return ("replaced" if state == "interrupted" else None), cfg
    if state is None:
        return None, cfg
    try:
        held = read_run_config(run_dir)["train"]
    except CheckpointError:
        return None, cfg
    want = json.loads(json.dumps(cfg.to_dict()))  # tuples as lists, as the run's config.json has them
    runtime = ("out",) + RESUME_RUNTIME
    if any(held.get(k) != v for k, v in want.items() if k not in runtime and not (k == "lr" and v == "auto")):
        return "changed", cfg
    if state == "finished":
        return "finished", cfg
    return "interrupted", TrainConfig.from_dict({**held, **{k: want[k] for k in runtime}})


def metrics_only(res) -> Dict[str, Any]:
    return {k: v for k, v in res.metrics.items() if not k.startswith("_")}


def train_metrics(cfg: TrainConfig, resume: Optional[Path] = None) -> Dict[str, Any]:
    """One run in a worker process (--jobs): it writes its run directory and returns its metrics."""
    from .train.run import train

    return metrics_only(train(cfg, resume=resume, replace_interrupted=True))


def process_pool(jobs: int):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # spawn: a fresh interpreter per worker, never a fork of a process that already runs torch threads
    return ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"))


def score_text(m: Dict[str, Any]) -> str:
    score = f"{100 * m['test_accuracy']:.2f}%" if "test_accuracy" in m else f"MAE {m.get('test_mae', 0):.4f}"
    return f"{score} in {m['train_seconds']:.1f}s ({m['epochs_run']} epochs)"


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
    from .config import FIELDS
    from .data import dataset_entry
    from .models import model_entry
    from .train.run import BASELINES

    valid = set(FIELDS) | set(dataset_entry(data).options())
    if model not in BASELINES:
        valid |= set(model_entry(model).hparams())
    return valid


def comparison_title(plan: Plan) -> str:
    datas = sorted({d for d, _ in plan.pairs})
    return f"Comparison on {', '.join(datas)}"


def safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name.split("/")[-1])[:40]


def tune_pair(model, data, overrides, trials, out_dir, log) -> Dict[str, Any]:
    from .tune import tune

    log(f"tuning {model} on {data}: {trials} trials")
    base = {k: v for k, v in overrides.items() if k != "seed"}
    res = tune(TrainConfig(model=model, data=data), base, trials, out_dir, seed=0)
    return dict(res["best_params"])


# ---------------------------------------------------------------- tables and figures

COLUMNS = [  # (metric key, column title, format, scale)
    ("params", "Parameters", "{:,.0f}", 1),
    ("flops_per_sample", "FLOPs/sample", "{:,.0f}", 1),
    ("test_accuracy", "Test acc (%)", "{:.2f}", 100),
    ("best_val_accuracy", "Best val acc (%)", "{:.2f}", 100),
    ("test_mae", "Test MAE", "{:.4f}", 1),
    ("test_rmse", "Test RMSE", "{:.4f}", 1),
    # forecasts: the baselines every model must beat, on the same test windows (series units)
    ("naive_mae", "Naive MAE", "{:.4f}", 1),
    ("seasonal_naive_mae", "Seasonal-naive MAE", "{:.4f}", 1),
    ("epochs_run", "Epochs", "{:.3g}", 1),  # whole epochs print whole ("2", not "2.0"); a mean over seeds "2.5"
    ("train_seconds", "Train s", "{:.1f}", 1),
    ("samples_per_s", "Samples/s", "{:,.0f}", 1),
    ("time_to_target_s", "Time to target (s)", "{:.1f}", 1),
    ("latency_ms_b1", "Latency b1 (ms)", "{:.3f}", 1),
    ("throughput_samples_s", "Inference/s", "{:,.0f}", 1),
    ("peak_rss_mb", "Peak RSS (MB)", "{:,.0f}", 1),
    ("weights_mb", "Weights (MB)", "{:.3f}", 1),
]


def summarise(rows: List[Dict[str, Any]], group: Sequence[str]) -> List[Dict[str, Any]]:
    """Mean ± std of every column over seeds, one row per group (data, model[, swept value]);
    a column no run of the group measured is left out (shown as '–')."""
    import math

    from .report.stats import aggregate

    out = []
    for a in aggregate(rows, group, [c[0] for c in COLUMNS]):
        s: Dict[str, Any] = {g: a[g] for g in group}
        s["n_seeds"] = a["n"]
        for col, *_ in COLUMNS:
            if not math.isnan(a[f"{col}_mean"]):
                s[col], s[col + "_std"] = a[f"{col}_mean"], a[f"{col}_std"]
        out.append(s)
    return out


def cell(s: Dict[str, Any], col: str, fmt: str, scale: float) -> str:
    if col not in s:
        return "–"
    text = fmt.format(s[col] * scale)
    if s.get("n_seeds", 1) > 1 and s.get(col + "_std", 0) and col not in ("params", "flops_per_sample", "weights_mb"):
        text += " ± " + fmt.format(s[col + "_std"] * scale)
    return text


def table(summary: List[Dict[str, Any]], lead: Sequence[str]) -> Tuple[List[str], List[List[str]]]:
    cols = [c for c in COLUMNS if any(c[0] in s for s in summary)]
    header = [h.capitalize() for h in lead] + [c[1] for c in cols]
    body = [[str(s[h]) for h in lead] + [cell(s, c[0], c[2], c[3]) for c in cols] for s in summary]
    return header, body


def markdown_table(header: List[str], body: List[List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"


def csv_text(header: List[str], body: List[List[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(body)
    return buf.getvalue()


def write_outputs(out: Path, rows: List[Dict[str, Any]], plan: Plan) -> None:
    from .train.checkpoint import atomic_write_text
    from .train.run import write_json, write_rows_csv
    from .viz.compare_plots import plot_comparison, plot_costs, plot_sweep

    write_rows_csv(out / "results.csv", rows)  # per-run rows, every metric

    # a sweep over data_seed repeats the comparison on fresh draws of the data (and validation split):
    # the table then averages over the draws, and the paired tests pool every draw's test examples
    draws = plan.sweep_key == "data_seed"
    final = [r for r in rows if draws or plan.sweep_key is None or r[plan.sweep_key] == plan.sweep_values[-1]]
    summary = summarise(final, ["data", "model"])
    header, body = table(summary, ["data", "model"])
    if plan.sweep_key and not draws:  # every swept value in the table, not only the last
        lead = ["data", "model", plan.sweep_key]
        header, body = table(summarise(rows, lead), lead)
    seeds = ", ".join(map(str, plan.seeds))
    note = f"Budget: {budget_text(plan.budget)}. Seeds: {seeds} ({len(plan.seeds)} run(s) per model; mean ± std)."
    if draws:
        values = ", ".join(map(str, plan.sweep_values))
        note = (f"Budget: {budget_text(plan.budget)}. Seeds: {seeds}; data seeds: {values} "
                f"({len(plan.seeds) * len(plan.sweep_values)} run(s) per model; mean ± std over them). "
                "The sweep figure shows each draw.")
    elif plan.sweep_key:
        note += (f" A row per {plan.sweep_key} value; the significance tests, ranks and cost figures are at "
                 f"{plan.sweep_key}={plan.sweep_values[-1]}.")
    note += timing_note(final)
    md = markdown_table(header, body)
    atomic_write_text(out / "comparison.md", md + "\n" + note + "\n")
    atomic_write_text(out / "comparison.csv", csv_text(header, body))
    sig = significance(out, final)
    atomic_write_text(out / "significance.md", sig["markdown"])
    write_json(out / "significance.json", sig["rows"])
    ranks_md = ranks(summary)
    if ranks_md:
        atomic_write_text(out / "ranks.md", ranks_md)
    atomic_write_text(out / "when_to_use.md", when_to_use(summary))
    figures = plot_comparison(out, rows, plan)
    figures += plot_costs(out, summary)
    if plan.sweep_key:
        figures += plot_sweep(out, rows, plan.sweep_key)
    write_json(out / "figures.json", figures)
    from .report.html import build_report

    build_report(out)


def timing_note(rows: List[Dict[str, Any]]) -> str:
    """The thread count latency and inference/s were timed with, and which runs were timed while
    the machine was busy (train/cost.py); "" when no run measured them."""
    threads = sorted({int(r["timing_threads"]) for r in rows if r.get("timing_threads")})
    if not threads:
        return ""
    busy = [f"{r['model']} (seed {r.get('seed', 0)}, CPU share {r.get('timing_cpu_share', 0):.0%})"
            for r in rows if r.get("timing_disturbed") in (True, "True", "true")]
    text = (f" Latency and inference/s: medians of repeated calls with {'/'.join(map(str, threads))} "
            f"thread(s).")
    if busy:
        return text + f" Timed while the machine was busy (they waited for a core), so slower than the model: {', '.join(busy)}."
    return text + " No run was disturbed while timed."


def significance(out: Path, rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Per data set: every model against the most accurate, paired on the same test examples."""
    import numpy as np

    from .report.stats import compare_to_best

    md, table_rows = ["# Which differences are real\n"], {}
    for data in dict.fromkeys(r["data"] for r in rows):
        if not any("test_accuracy" in r for r in rows if r["data"] == data):
            res = paired_errors(out, [r for r in rows if r["data"] == data])
            if res:
                table_rows[data] = res
                md.append(f"\n## {data}\n")
                md += [f"- {t}" for t in res.values()]
            continue
        correct: Dict[str, List[np.ndarray]] = {}
        for r in rows:
            if r["data"] != data or "test_accuracy" not in r:
                continue
            pred = np.genfromtxt(out / r["run_dir"] / "predictions.csv", delimiter=",", skip_header=1)
            correct.setdefault(r["model"], []).append(pred[:, 1] == pred[:, 2])
        if len(correct) < 2:
            continue
        res = compare_to_best(correct)
        table_rows[data] = res
        md.append(f"\n## {data}\n")
        md += [f"- {row['text']}" for row in res.values() if row.get("text")]
    if len(md) == 1:
        md.append("\nOnly one model per data set: nothing to compare.")
    md.append("\nPaired on the same test examples: McNemar's test on per-example correctness for classification, "
              "Wilcoxon's signed-rank test on per-window absolute errors for forecasts; 'significant' means p < 0.05.\n")
    return {"markdown": "\n".join(md) + "\n", "rows": table_rows}


def paired_errors(out: Path, rows: List[Dict[str, Any]]) -> Dict[str, str]:
    """Forecasts: each model's per-window absolute errors against the lowest-MAE model's (seed 0 of each)."""
    import numpy as np
    from scipy.stats import wilcoxon

    errs, series = {}, True
    for r in rows:
        if r["model"] not in errs:
            e = np.genfromtxt(out / r["run_dir"] / "predictions.csv", delimiter=",", skip_header=1, ndmin=2)
            # the series' units (as the table) where the run wrote them; older runs only have scaled errors
            series = series and e.shape[1] > 2
            errs[r["model"]] = e
    if len(errs) < 2:
        return {}
    errs = {m: e[:, 2] if series else e[:, 1] for m, e in errs.items()}
    units = "series units, as the table" if series else "scaled units"
    best = min(errs, key=lambda m: errs[m].mean())
    res = {best: f"{best}: lowest mean absolute error ({errs[best].mean():.4g}, {units})"}
    for m, e in errs.items():
        if m == best:
            continue
        d = e - errs[best]
        p = 1.0 if not np.any(d) else float(wilcoxon(e, errs[best]).pvalue)
        verdict = "significant" if p < 0.05 else "not significant"
        res[m] = f"{m} vs {best}: {d.mean():+.4g} mean absolute error, {verdict} (Wilcoxon p={p:.3g})"
    return res


def ranks(summary: List[Dict[str, Any]]) -> str:
    from .report.stats import average_ranks

    table_: Dict[str, Dict[str, float]] = {}
    for s in summary:
        if "test_accuracy" in s:
            table_.setdefault(s["data"], {})[s["model"]] = s["test_accuracy"]
    if len(table_) < 2:
        return ""
    res = average_ranks(table_)
    lines = ["| Model | Average rank | Wins |", "|---|---|---|"]
    lines += [f"| {m} | {r:.2f} | {w} |" for m, (r, w) in res.items()]
    return "# Average rank over data sets\n\n" + "\n".join(lines) + "\n"


def when_to_use(summary: List[Dict[str, Any]]) -> str:
    measured: Dict[str, List[str]] = {}
    for s in summary:
        if "test_accuracy" in s:
            score = f"{100 * s['test_accuracy']:.1f}%"
        elif "test_mae" in s:
            score = f"MAE {s['test_mae']:.4f}"
        else:
            continue
        measured.setdefault(s["model"], []).append(
            f"{score} on {s['data']} in {s.get('train_seconds', 0):.0f}s, {s.get('params', 0):,.0f} params")
    lines = ["# When to use each architecture\n",
             "| Architecture | Best for | Pros | Cons | Measured here |", "|---|---|---|---|---|"]
    # only the architectures this comparison ran: rows of "–" for the others said nothing
    for name, best, pros, cons in WHEN_TO_USE:
        if name in measured:
            lines.append(f"| **{name}** | {best} | {pros} | {cons} | {'; '.join(measured[name])} |")
    others = [name for name, *_ in WHEN_TO_USE if name not in measured]
    if len(lines) == 3:
        lines = lines[:1]
    if others:
        lines.append(f"\nNot in this comparison: {', '.join(others)} (`archbench models -v` describes each).")
    return "\n".join(lines) + "\n"
