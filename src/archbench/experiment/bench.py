"""``archbench bench``: speed against the machine's own limits, and against the notebook's code.

For every model with its default data it measures, in one run: training and evaluation samples/s,
achieved training GFLOP/s (3 x forward FLOPs x samples/s, FLOPs from torch.utils.flop_counter) set
against this machine's GEMM peak measured in the same run (fp32 and bf16), seconds to the
notebook's accuracy, test accuracy, and peak memory. With ``--seed-reference PYTHON`` it also runs
the notebook's own cells (``../shared/bench/seed_reference.py``) on the same machine, in the same
bench run, and reports the ratios. Writes bench.md, bench.csv, bench.json and bench.png.
"""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..config import TrainConfig
from ..files import atomic_write_text, lock_dir, write_json, write_rows_csv
from ..viz.canvas import plt  # Figure objects: the user's backend is left alone
from .run import train

# The notebook's own test accuracies, the bar for "reached": MNIST from its Parts 2/3; the sequence
# models from its Part 8 table as ../shared/bench/README.md quotes it -- replaced by the accuracies the
# notebook's code prints when --seed-reference runs it in the same bench run.
NOTEBOOK_TARGETS = {("mlp", "mnist"): 0.984, ("cnn", "mnist"): 0.993, ("mlp", "digits"): 0.97, ("cnn", "digits"): 0.98,
                    ("rnn", "seq-sum"): 0.9733, ("lstm", "seq-sum"): 0.9893, ("gru", "seq-sum"): 0.9880,
                    ("lstm-attn", "seq-sum"): 0.9787, ("transformer", "seq-sum"): 0.9987}
SEQUENCE_MODELS = ["rnn", "lstm", "gru", "lstm-attn", "transformer"]  # the notebook's five (Part 8)
# the notebook's names in its Part 8 table, and the preset's training cell of each model
NOTEBOOK_NAMES = {"Simple RNN": "rnn", "LSTM": "lstm", "GRU": "gru", "LSTM + Attention": "lstm-attn",
                  "Transformer": "transformer"}
TRAIN_CELLS = {"rnn": 28, "lstm": 33, "gru": 35, "lstm-attn": 41, "transformer": 46}
NOTEBOOK_MNIST_EPOCHS = 20  # its MNIST cells train up to 20 epochs (early stopping, patience 5, may end sooner)


def gemm_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 10, device: str = "cpu") -> float:
    """GFLOP/s of an n x n matrix product (the best of `repeats`, after a warm-up)."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        if device != "cpu":
            torch.cuda.synchronize()
        t = time.perf_counter()
        a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def time_to(history: List[Dict[str, Any]], key: str, target: float) -> Optional[float]:
    """Seconds of training (validation included) until history[key] first reaches target."""
    for row in history:
        if row.get(key) is not None and row[key] >= target:
            return row["elapsed"]
    return None


def bench_model(model: str, data: str, data_dir: Optional[str], device: str, out: Path, extra: Dict[str, Any]):
    cfg = TrainConfig(model=model, data=data, data_dir=data_dir, device=device, out=str(out / "runs" / f"{model}-{data}"))
    res = train(cfg, {"eval_test_each_epoch": True, "progress": "epoch", **extra}, replace_interrupted=True)
    m, hist = res.metrics, res.history
    train_seconds = sum(r["seconds"] for r in hist)
    eval_seconds = sum(r["eval_seconds"] for r in hist)
    bs = json.loads((res.run_dir / "config.json").read_text())["train"]["batch_size"]
    samples = len(res.bundle.train) // bs * bs * len(hist)  # drop_last: whole batches only
    sps = samples / max(train_seconds, 1e-9)
    eval_sps = len(res.bundle.val) * len(hist) / max(eval_seconds, 1e-9)
    flops = m.get("flops_per_sample") or 0
    target = NOTEBOOK_TARGETS.get((model, data))
    return {
        "model": model, "data": data, "precision": m["precision"], "epochs": len(hist),
        "params": m["params"], "test_accuracy": m.get("test_accuracy"), "best_val_accuracy": m.get("best_val_accuracy"),
        "seconds_per_epoch": train_seconds / len(hist), "train_samples_per_s": sps, "eval_samples_per_s": eval_sps,
        "train_gflops": 3 * flops * sps / 1e9, "target_test_accuracy": target,
        "time_to_target_s": None if target is None else time_to(hist, "test_acc", target),
        "train_seconds": m["train_seconds"], "peak_rss_mb": m.get("peak_rss_mb"), "peak_cuda_mb": m.get("peak_cuda_mb"),
        "run_dir": str(res.run_dir), "test_curve": [{"elapsed": r["elapsed"], "test_acc": r.get("test_acc")} for r in hist],
    }


REF_EPOCH = re.compile(r"\[notebook cell (\d+)\] ([\d.]+)s")


def run_reference(python: str, preset: str, data_dir: Optional[str], script: Path, epochs: Optional[int] = None) -> Dict:
    """Run the notebook's cells; return each cell's seconds and the accuracies it printed."""
    cmd = [python, str(script), "--preset", preset]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"seed reference failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else ''}")
    cells = {int(c): float(s) for c, s in REF_EPOCH.findall(proc.stdout)}
    return {"wall_s": wall, "cells": cells, "test_accuracies": notebook_accuracies(proc.stdout),
            "stdout": proc.stdout[-4000:]}


def notebook_accuracies(stdout: str) -> Dict[str, float]:
    """Model -> test accuracy (fraction) from the notebook's Part 8 table ("Simple RNN  12,345  97.33% ...")."""
    accs = {}
    for name, model in NOTEBOOK_NAMES.items():
        m = re.search(rf"^{re.escape(name)}\s+[\d,]+\s+([\d.]+)%", stdout, re.M)
        if m:
            accs[model] = round(float(m.group(1)) / 100, 6)
    return accs


def run_bench(out: Path, data_dir: Optional[str], device: str = "cpu", models: Optional[List[str]] = None,
              reference_python: Optional[str] = None, reference_script: Optional[Path] = None,
              sequences: bool = True, overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    lock_dir(out)  # one writer per directory (files.py)
    on_gpu = device.startswith("cuda")
    peaks = {"fp32": gemm_peak(torch.float32, device="cuda" if on_gpu else "cpu"),
             "bf16": gemm_peak(torch.bfloat16, device="cuda" if on_gpu else "cpu")}
    image_data = "mnist" if data_dir and (Path(data_dir) / "MNIST").exists() else "digits"
    plan = [(m, image_data) for m in (models or ["mlp", "cnn"]) if m in ("mlp", "cnn")]
    if sequences:
        plan += [(m, "seq-sum") for m in SEQUENCE_MODELS if not models or m in models]
    rows = []
    for model, data in plan:
        extra = dict(overrides or {})
        if data == "seq-sum":  # the notebook's own sequences and split: both sides scored on the same 750 test sequences
            extra.setdefault("draw", "notebook")
        row = bench_model(model, data, data_dir if data == image_data else None, device, out, extra)
        row["peak_gflops"] = peaks[row["precision"] if row["precision"] in peaks else "fp32"]
        row["fraction_of_peak"] = row["train_gflops"] / row["peak_gflops"]
        rows.append(row)
        print(f"{model} on {data}: {row['seconds_per_epoch']:.2f} s/epoch, {row['train_samples_per_s']:,.0f} samples/s, "
              f"{100 * (row['test_accuracy'] or 0):.2f}% test, {row['train_gflops']:.1f} GFLOP/s "
              f"({100 * row['fraction_of_peak']:.1f}% of {row['precision']} peak)", file=sys.stderr)
    result: Dict[str, Any] = {"machine": machine(), "gemm_peak_gflops": peaks, "rows": rows}
    if reference_python:
        result["reference"] = reference(rows, reference_python, reference_script, data_dir, image_data)
    write_json(out / "bench.json", result)
    write_tables(out, result)
    return result


def reference(rows, python, script, data_dir, image_data) -> Dict[str, Any]:
    """The notebook's code on the same machine: per-epoch time of its MLP/CNN and its sequence preset."""
    ref: Dict[str, Any] = {}
    if image_data == "mnist":
        # cells 1,12,13 set up MNIST; 14/15 and 20/21 build and train the ANN and CNN; 2 epochs for per-epoch time
        r = run_reference(python, "mnist", data_dir, script, epochs=2)
        ref["mnist"] = {"mlp_s_per_epoch": r["cells"].get(15, float("nan")) / 2,
                        "cnn_s_per_epoch": r["cells"].get(21, float("nan")) / 2, "wall_s": r["wall_s"]}
        for row in rows:
            key = f"{row['model']}_s_per_epoch"
            if row["data"] == "mnist" and key in ref["mnist"]:
                row["notebook_s_per_epoch"] = ref["mnist"][key]
                row["speedup_per_epoch"] = ref["mnist"][key] / row["seconds_per_epoch"]
                # the notebook's whole run delivers its accuracy; we count to the first epoch at it
                row["notebook_s_to_acc"] = NOTEBOOK_MNIST_EPOCHS * ref["mnist"][key]
                if row["time_to_target_s"]:
                    row["time_to_acc_ratio"] = row["notebook_s_to_acc"] / row["time_to_target_s"]
    seq = [r for r in rows if r["data"] == "seq-sum"]
    if seq:
        r = run_reference(python, "sequences", None, script)
        accs = r["test_accuracies"]
        ref["sequences"] = {"wall_s": r["wall_s"], "train_s": sum(r["cells"].get(c, 0) for c in TRAIN_CELLS.values()),
                            "test_accuracies": accs}
        for row in seq:
            if row["model"] in accs:  # this run's notebook accuracy is the bar
                row["target_test_accuracy"] = accs[row["model"]]
                row["time_to_target_s"] = time_to(row["test_curve"], "test_acc", accs[row["model"]])
            if row["model"] in TRAIN_CELLS:
                row["notebook_s_to_acc"] = r["cells"].get(TRAIN_CELLS[row["model"]])
                if row["time_to_target_s"] and row["notebook_s_to_acc"]:
                    row["time_to_acc_ratio"] = row["notebook_s_to_acc"] / row["time_to_target_s"]
        ours = sum(x["train_seconds"] for x in seq)
        ref["sequences"]["archbench_train_s"] = ours
        ref["sequences"]["speedup"] = ref["sequences"]["train_s"] / max(ours, 1e-9)
        reached = [x["time_to_target_s"] for x in seq]
        if all(reached):
            ref["sequences"]["time_to_acc_ratio"] = ref["sequences"]["train_s"] / sum(reached)
    return ref


def machine() -> Dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write_tables(out: Path, result: Dict[str, Any]) -> None:
    rows = result["rows"]
    cols = [("model", "Model", "{}"), ("data", "Data", "{}"), ("precision", "Precision", "{}"),
            ("seconds_per_epoch", "s/epoch", "{:.2f}"), ("train_samples_per_s", "Train samples/s", "{:,.0f}"),
            ("eval_samples_per_s", "Eval samples/s", "{:,.0f}"), ("train_gflops", "Train GFLOP/s", "{:.1f}"),
            ("fraction_of_peak", "% of GEMM peak", "{:.1%}"), ("test_accuracy", "Test acc", "{:.2%}"),
            ("target_test_accuracy", "Target", "{:.1%}"), ("time_to_target_s", "s to target", "{:.1f}"),
            ("peak_rss_mb", "Peak RSS MB", "{:,.0f}"), ("peak_cuda_mb", "Peak GPU MB", "{:,.0f}"),
            ("notebook_s_per_epoch", "Notebook s/epoch", "{:.1f}"),
            ("speedup_per_epoch", "Speed-up/epoch", "{:.1f}x"), ("notebook_s_to_acc", "Notebook s to its acc", "{:.1f}"),
            ("time_to_acc_ratio", "Time-to-acc ratio", "{:.1f}x")]
    cols = [c for c in cols if any(r.get(c[0]) is not None for r in rows)]
    fmt = lambda r, c: "–" if r.get(c[0]) is None else c[2].format(r[c[0]])
    md = ["| " + " | ".join(c[1] for c in cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(fmt(r, c) for c in cols) + " |" for r in rows]
    m, p = result["machine"], result["gemm_peak_gflops"]
    md.append(f"\nMachine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}" + (f", GPU {m['gpu']}" if "gpu" in m else "")
              + f". GEMM peak measured in the same run: fp32 {p['fp32']:.0f} GFLOP/s, bf16 {p['bf16']:.0f} GFLOP/s.")
    ref = result.get("reference", {})
    if "sequences" in ref:
        s = ref["sequences"]
        md.append(f"Five-model sequence comparison: notebook code {s['train_s']:.1f} s of training, archbench "
                  f"{s['archbench_train_s']:.1f} s: {s['speedup']:.1f}x faster"
                  + (f"; to each model's notebook accuracy {s['time_to_acc_ratio']:.1f}x sooner." if "time_to_acc_ratio" in s
                     else "; not every model reached its notebook accuracy."))
    if any(r.get("notebook_s_to_acc") for r in rows if r["data"] == "mnist"):
        md.append(f"MNIST: the notebook's time to its accuracy is {NOTEBOOK_MNIST_EPOCHS} x its measured seconds per "
                  "epoch (its cells' epoch budget; its early stopping may end a run sooner).")
    atomic_write_text(out / "bench.md", "\n".join(md) + "\n")

    write_rows_csv(out / "bench.csv", [{k: v for k, v in r.items() if k != "test_curve"} for r in rows])
    plot(out, rows)


def plot(out: Path, rows) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [f"{r['model']}\n{r['data']}" for r in rows]
    axes[0].bar(names, [r["train_samples_per_s"] for r in rows], color="tab:blue")
    axes[0].set(ylabel="training samples/s", title="Training throughput", yscale="log")
    axes[1].bar(names, [100 * r["fraction_of_peak"] for r in rows], color="tab:orange")
    axes[1].set(ylabel="% of GEMM peak (same precision)", title="Achieved training GFLOP/s vs the machine's peak")
    for a in axes:
        a.grid(alpha=0.3, axis="y")
        a.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(out / "bench.png", dpi=110)
    plt.close(fig)
