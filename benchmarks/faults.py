"""The full fault campaign (outside CI): kill real `archbench train` processes and check exact resume.

    python benchmarks/faults.py [--families mlp cnn ...] [--precisions auto fp32] [--points 20]
                                [--timers 4] [--seed 0] [--work DIR]

For each family and precision it trains one uninterrupted reference on tiny data, then runs
``--points`` trials killed by the ARCHBENCH_FAULT hook at a seeded point (a training step, or inside
a checkpoint write, with a checkpoint after every step so the kill lands mid-epoch, on an epoch
boundary or in a write) plus ``--timers`` trials killed by SIGKILL after a seeded number of seconds
(real timers: wherever the process happens to be). Each killed run is resumed with `train --resume`
and compared with the reference at zero tolerance: byte-identical model.safetensors, equal test loss.
A trial whose process finished before its kill still counts (it must equal the reference too).
Prints one line per trial and a table: trials, identical resumes, seconds. Exit 1 if any differs.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEQ = ["--data", "seq-sum", "--set", "n_samples=240", "--set", "seq_len=12", "--batch-size", "32"]
IMG = ["--data", "digits", "--batch-size", "64"]
FAMILIES = {"mlp": IMG, "cnn": IMG, "resnet-small": IMG + ["--set", "max_steps=30"], "rnn": SEQ, "birnn": SEQ,
            "lstm": SEQ, "gru": SEQ, "lstm-attn": SEQ, "transformer": SEQ}
COMMON = ["--epochs", "2", "--seed", "3", "--threads", "1", "--progress", "none"]


def archbench(args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "archbench", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def result(run_dir: Path):
    m = json.loads((run_dir / "metrics.json").read_text())
    return (run_dir / "model.safetensors").read_bytes(), m["test_loss"]


def steps_of(run_dir: Path) -> int:
    """Optimiser steps of the whole reference run (its final checkpoint says)."""
    from archbench.train.checkpoint import load_state

    return int(load_state(run_dir / "checkpoint.safetensors")["global_step"])


def trial(family, precision, fault, timer, work: Path, want):
    run = work / f"{family}-{precision}-{len(list(work.iterdir()))}"
    cmd = ["train", family, *FAMILIES[family], *COMMON, "--precision", precision, "--set", "checkpoint_every=0",
           "--out", run]
    t0 = time.perf_counter()
    if timer is None:
        archbench(cmd, env={"ARCHBENCH_FAULT": fault})
    else:
        p = subprocess.Popen([sys.executable, "-m", "archbench", *map(str, cmd)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(timer)
        p.send_signal(signal.SIGKILL)
        p.wait()
    finished_early = (run / "metrics.json").exists()
    if not finished_early:
        if not (run / "checkpoint.safetensors").exists():  # killed before its first checkpoint: start anew
            shutil.rmtree(run, ignore_errors=True)  # (a timer can fire before the folder exists)
            r = archbench(cmd)
        else:
            r = archbench(["train", "--resume", run, "--threads", "1", "--progress", "none"])
        if r.returncode != 0:
            return False, time.perf_counter() - t0, f"resume failed: {r.stderr.strip().splitlines()[-1:]}"
    same = result(run) == want
    shutil.rmtree(run, ignore_errors=True)
    note = "finished before the kill" if finished_early else ""
    return same, time.perf_counter() - t0, note


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--precisions", nargs="+", default=["auto", "fp32"])
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--timers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="archbench-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    table, bad = [], 0
    for family in a.families:
        for precision in a.precisions:
            t0 = time.perf_counter()
            ref = work / f"ref-{family}-{precision}"
            r = archbench(["train", family, *FAMILIES[family], *COMMON, "--precision", precision, "--out", ref])
            if r.returncode != 0:
                print(f"{family} {precision}: reference failed: {r.stderr.strip().splitlines()[-1:]}")
                bad += 1
                continue
            want, steps = result(ref), steps_of(ref)
            ref_seconds = time.perf_counter() - t0
            n_same = 0
            plans = [(f"kill:{rng.choice(['step', 'checkpoint_write'])}={rng.randint(1, steps)}", None)
                     for _ in range(a.points)]
            plans += [(f"timer {s:.2f}s", s) for s in (rng.uniform(1.0, 0.8 * ref_seconds) for _ in range(a.timers))]
            for fault, timer in plans:
                same, secs, note = trial(family, precision, fault, timer, work, want)
                n_same += same
                print(f"{family:12s} {precision:5s} {fault:28s} {'identical' if same else 'DIFFERS'} {secs:6.1f}s {note}",
                      flush=True)
            table.append((family, precision, len(plans), n_same, time.perf_counter() - t0))
            bad += len(plans) - n_same
            shutil.rmtree(ref, ignore_errors=True)
    print("\n| family | precision | trials | identical resumes | seconds |\n|---|---|---|---|---|")
    for family, precision, n, same, secs in table:
        print(f"| {family} | {precision} | {n} | {same} | {secs:.0f} |")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
