"""The tables, figures and statistics a comparison writes from its runs' rows (mean ± std, significance, ranks, when to use)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
from scipy.stats import wilcoxon

from ..files import atomic_write_text, csv_text, markdown_table, write_json, write_rows_csv
from ..report.html import build_report
from ..report.stats import aggregate, average_ranks, compare_to_best
from ..report.verdict import baseline_verdicts, join_folds
from ..viz.compare_plots import plot_comparison, plot_costs, plot_sweep
from .plan import Plan, budget_text

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


def score_text(m: Dict[str, Any]) -> str:
    if m.get("diverged"):
        return f"diverged ({m['stop_reason']})"
    score = f"{100 * m['test_accuracy']:.2f}%" if "test_accuracy" in m else f"MAE {m.get('test_mae', 0):.4f}"
    return f"{score} in {m['train_seconds']:.1f}s ({m['epochs_run']} epochs)"


COLUMNS = [  # (metric key, column title, format, scale)
    ("params", "Parameters", "{:,.0f}", 1),
    ("flops_per_sample", "FLOPs/sample", "{:,.0f}", 1),
    ("test_accuracy", "Test acc (%)", "{:.2f}", 100),
    ("best_val_accuracy", "Best val acc (%)", "{:.2f}", 100),
    ("test_balanced_accuracy", "Balanced acc (%)", "{:.2f}", 100),
    ("test_macro_f1", "Macro-F1 (%)", "{:.2f}", 100),
    ("test_mae", "Test MAE", "{:.4f}", 1),
    ("test_rmse", "Test RMSE", "{:.4f}", 1),
    ("test_r2", "Test R²", "{:.3f}", 1),
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


def write_outputs(out: Path, rows: List[Dict[str, Any]], plan: Plan) -> None:
    write_rows_csv(out / "results.csv", rows)  # per-run rows, every metric
    diverged = [r for r in rows if r.get("diverged")]
    rows = [r for r in rows if not r.get("diverged")]  # a diverged run has no test scores to tabulate

    # a sweep over data_seed repeats the comparison on fresh draws of the data (and validation split):
    # the table then averages over the draws, and the paired tests pool every draw's test examples
    draws = plan.sweep_key in ("data_seed", "fold")  # k-fold (--set folds=K) averages over its folds alike
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
        what = "folds" if plan.sweep_key == "fold" else "data seeds"
        note = (f"Budget: {budget_text(plan.budget)}. Seeds: {seeds}; {what}: {values} "
                f"({len(plan.seeds) * len(plan.sweep_values)} run(s) per model; mean ± std over them). "
                "The sweep figure shows each draw.")
    elif plan.sweep_key:
        note += (f" A row per {plan.sweep_key} value; the significance tests, ranks and cost figures are at "
                 f"{plan.sweep_key}={plan.sweep_values[-1]}.")
    note += timing_note(final)
    if diverged:
        note += " Diverged (non-finite training loss; in results.csv, not in this table): " + "; ".join(
            f"{r['model']} on {r['data']} seed {r['seed']}" for r in diverged) + "."
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

    build_report(out)


def timing_note(rows: List[Dict[str, Any]]) -> str:
    """The thread count latency and inference/s were timed with, and which runs were timed while
    the machine was busy (models/cost.py); "" when no run measured them."""
    threads = sorted({int(r["timing_threads"]) for r in rows if r.get("timing_threads")})
    if not threads:
        return ""
    busy = [f"{r['model']} (seed {r.get('seed', 0)}, CPU share {r.get('timing_cpu_share', 0):.0%})"
            for r in rows if r.get("timing_disturbed") in (True, "True", "true")]
    text = f" Latency and inference/s: medians of repeated calls with {'/'.join(map(str, threads))} thread(s)."
    if busy:
        return text + f" Timed while the machine was busy (they waited for a core), so slower than the model: {', '.join(busy)}."
    return text + " No run was disturbed while timed."


def significance(out: Path, rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Per data set: every model against the most accurate, paired on the same test examples."""


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
        if any("fold" in r for r in rows):  # k-fold: a seed's folds together test every example once
            correct = join_folds(correct, [r for r in rows if r["data"] == data and "test_accuracy" in r])
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
    lines += baseline_verdicts(summary)  # says so plainly when gradient boosting or bag-of-words wins
    return "\n".join(lines) + "\n"
