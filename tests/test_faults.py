"""Fault campaign (CI share): real `archbench train` processes killed by the ARCHBENCH_FAULT hook at
seeded points, resumed, and compared with one uninterrupted reference per family and precision at
zero tolerance (byte-identical model.safetensors, equal test loss). Also: the directory lock with two
real processes, a NaN stop, a failed write (injected and on a real full tmpfs). The full campaign is
benchmarks/faults.py; docs/reliability.md says what is guaranteed.
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_cli, wait_until_stopped

TINY_SEQ = ["--data", "seq-sum", "--set", "n_samples=240", "--set", "seq_len=12"]
# (name, train args, precision, kill plan): each plan entry kills one process of a chain of resumes;
# kill:step=K counts the steps of that process, so later entries land deeper into the run.
# checkpoint_every=0 writes a checkpoint after every step: a kill then resumes mid-epoch, or at an
# epoch boundary when the killed step is an epoch's first; the reference keeps the default (epoch
# checkpoints only), so the comparison also shows checkpoint frequency never changes the result.
CASES = [
    ("cnn-auto", ["cnn", "--data", "digits", "--epochs", "2", "--batch-size", "64"], "auto",
     ["kill:step=7", "kill:step=15", "kill:checkpoint_write=5"]),  # mid-epoch, epoch boundary, in a write
    ("mlp-fp32", ["mlp", "--data", "digits", "--epochs", "2", "--batch-size", "64"], "fp32",
     ["kill:step=12", "kill:checkpoint_write=3"]),
    ("lstm-auto", ["lstm", *TINY_SEQ, "--epochs", "2", "--batch-size", "32"], "auto",
     ["kill:step=3", "kill:step=4"]),
    ("transformer-fp32", ["transformer", *TINY_SEQ, "--epochs", "2", "--batch-size", "32"], "fp32",
     ["kill:step=5", "kill:checkpoint_write=2"]),
    ("gru-auto", ["gru", *TINY_SEQ, "--epochs", "2", "--batch-size", "32"], "auto", ["kill:step=6"]),
]
COMMON = ["--seed", "3", "--threads", "1", "--progress", "none"]


def train_cmd(args, precision, out, every=None):
    extra = ["--set", f"checkpoint_every={every}"] if every is not None else []
    return ["train", *args, "--precision", precision, *COMMON, *extra, "--out", str(out)]


def killed(proc):
    return proc.returncode == -9


_REFS = {}  # one uninterrupted reference per (family, precision, settings), shared by the tests of this module


def reference(args, precision, tmp_dir):
    key = (tuple(args), precision)
    if key not in _REFS:
        ref = Path(tmp_dir) / "ref"
        r = run_cli(*train_cmd(args, precision, ref))
        assert r.returncode == 0, r.stderr
        _REFS[key] = result(ref)
    return _REFS[key]


def result(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return (run_dir / "model.safetensors").read_bytes(), metrics["test_loss"], metrics["precision"]


@pytest.mark.parametrize("name,args,precision,plan", CASES, ids=[c[0] for c in CASES])
def test_killed_and_resumed_equals_uninterrupted(tmp_path, name, args, precision, plan):
    want = reference(args, precision, tmp_path)
    run = tmp_path / "run"
    first = True
    for fault in plan:
        cmd = train_cmd(args, precision, run, every=0) if first else ["train", "--resume", run, *COMMON[2:]]
        r = subprocess.run([sys.executable, "-m", "archbench", *map(str, cmd)], capture_output=True, text=True,
                           timeout=300, env={**os.environ, "ARCHBENCH_FAULT": fault})
        assert killed(r), f"{fault} did not kill the run (rc {r.returncode}): {r.stderr[-400:]}"
        assert not (run / "metrics.json").exists()
        first = False
    r = run_cli("train", "--resume", run, *COMMON[2:])
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr
    got = result(run)
    assert got[2] == want[2]
    assert got[1] == want[1], f"{name}: test loss {got[1]!r} after kills {plan}, {want[1]!r} uninterrupted"
    assert got[0] == want[0], f"{name}: model.safetensors differs after kills {plan}"


def test_second_writer_is_refused_and_dead_lock_is_taken_over(tmp_path):
    out = tmp_path / "X"
    env = {**os.environ, "ARCHBENCH_FAULT": "stop:step=25"}  # mlp on digits: about 20 steps an epoch, so in epoch 2
    slow = subprocess.Popen([sys.executable, "-m", "archbench", "train", "mlp", "--data", "digits", "--epochs", "3",
                             *COMMON, "--out", str(out)], stderr=subprocess.PIPE, text=True, env=env)
    wait_until_stopped(slow)  # the first run holds its lock, alive, for as long as the test needs
    r = run_cli("train", "cnn", "--data", "digits", "--epochs", "1", *COMMON, "--out", out)
    holder = json.loads((out / ".archbench.lock").read_text())
    slow.kill()  # it dies with its lock held: the lock is now stale
    slow.wait(timeout=60)
    assert r.returncode == 1
    assert "being written by another archbench process" in r.stderr and f"pid {holder['pid']}" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert holder["pid"] == slow.pid and holder["host"]
    assert slow.returncode == -9
    r = run_cli("train", "--resume", out, *COMMON[2:])  # a dead holder's lock is taken over
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "metrics.json").read_text())["model"] == "mlp"


def test_nan_loss_stops_with_exit_3_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "N"
    # 20 steps an epoch at batch 64: step 27 is in epoch 2, after epoch 1's checkpoint
    r = run_cli("train", "mlp", "--data", "digits", "--epochs", "3", "--batch-size", "64", *COMMON, "--out", out,
                env={"ARCHBENCH_FAULT": "nan:step=27"})
    assert r.returncode == 3, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("archbench: error: training loss became nan at epoch 2, step 7")
    assert not (out / "metrics.json").exists() and not (out / "model.safetensors").exists()
    from archbench.train.checkpoint import load_state

    state = load_state(out / "checkpoint.safetensors")
    assert state["epoch"] == 1 and state["step"] == 0
    assert state["early_stopping"]["best_weights"] is not None  # the best weights so far travel with it
    import torch

    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_real_lr_divergence_exits_3(tmp_path):
    r = run_cli("train", "mlp", "--data", "digits", "--epochs", "2", "--lr", "1e8", "--set", "optimizer=sgd",
                *COMMON, "--out", tmp_path / "D")
    assert r.returncode == 3, r.stderr
    assert "training loss became" in r.stderr and "epoch 1, step" in r.stderr


def test_failed_checkpoint_write_keeps_the_previous_one_and_resumes(tmp_path):
    out = tmp_path / "E"
    args, precision = CASES[1][1], CASES[1][2]  # mlp fp32: its reference is shared with the kill test
    r = run_cli(*train_cmd(args, precision, out), env={"ARCHBENCH_FAULT": "enospc:checkpoint_write=2"})
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("archbench: error: cannot write") and "No space left on device" in last, r.stderr
    assert "previous version is kept" in last
    assert not list(out.glob(".checkpoint*.tmp")), "a partial temp file was left behind"
    r = run_cli("train", "--resume", out, *COMMON[2:])  # space is back
    assert r.returncode == 0, r.stderr
    assert result(out) == reference(args, precision, tmp_path)


def test_full_real_file_system_gives_one_line(tmp_path):
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    mnt = tmp_path / "small"
    mnt.mkdir()
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if m.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({m.stderr.strip() or 'not root'})")
    try:
        r = run_cli("train", "cnn", "--data", "digits", "--epochs", "1", "--batch-size", "64", *COMMON,
                    "--out", mnt / "run")
        assert r.returncode == 1, r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("archbench: error: cannot write") and "No space left on device" in last, r.stderr
        assert "Traceback" not in r.stderr
        assert not list((mnt / "run").glob(".*.tmp"))
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_compare_killed_then_resumed_equals_uninterrupted(tmp_path):
    """kill -9 of the compare process (--jobs 1: it trains in process) during its second run; --resume
    keeps the finished run, redoes/continues the half-written one, and the table is the same."""
    import csv

    args = ["compare", "mlp", "--data", "digits", "--seeds", "0,1", "--budget", "epochs=2", "--threads", "1",
            "--precision", "fp32", "--set", "batch_size=128"]
    ref, out = tmp_path / "ref", tmp_path / "cmp"
    assert run_cli(*args, "--out", ref).returncode == 0
    # step 26 of the process lands in the second run (the first has 20 steps at most)
    r = run_cli(*args, "--out", out, env={"ARCHBENCH_FAULT": "kill:step=26"})
    assert r.returncode == -9, r.stderr
    assert (out / "runs/digits/mlp-s0/metrics.json").exists() and not (out / "runs/digits/mlp-s1/metrics.json").exists()
    assert not (out / "results.csv").exists()
    r = run_cli(*args, "--out", out, "--resume")
    assert r.returncode == 0, r.stderr
    assert "(seed 0) kept from the earlier run" in r.stderr and "(seed 1) kept" not in r.stderr
    keep = ("data", "model", "seed", "test_accuracy", "test_loss", "best_epoch", "epochs_run", "best_val_loss")
    rows = [[{k: row[k] for k in keep} for row in csv.DictReader(open(d / "results.csv"))] for d in (ref, out)]
    assert rows[0] == rows[1] and len(rows[0]) == 2
    for seed in (0, 1):
        a, b = (d / f"runs/digits/mlp-s{seed}/model.safetensors" for d in (ref, out))
        assert a.read_bytes() == b.read_bytes()


def test_compare_with_two_jobs_killed_then_resumed_equals_uninterrupted(tmp_path):
    """--jobs 2: the runs train in worker processes. Each worker stops itself (stop:step=30) in its second
    run, so when the compare process is killed one run is finished and one half done, on any machine;
    the workers die with it, and --resume keeps the finished runs and continues the other."""
    import csv

    import psutil

    args = ["compare", "mlp", "--data", "digits", "--seeds", "0,1,2", "--budget", "epochs=2", "--jobs", "2",
            "--threads", "1", "--precision", "fp32", "--set", "batch_size=128"]
    ref, out = tmp_path / "ref", tmp_path / "cmp"
    assert run_cli(*args, "--out", ref).returncode == 0
    driver = subprocess.Popen([sys.executable, "-m", "archbench", *args, "--out", str(out)], stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "ARCHBENCH_FAULT": "stop:step=30"})  # 22 steps a run
    end = time.monotonic() + 240
    while not any(p.status() == psutil.STATUS_STOPPED for p in psutil.Process(driver.pid).children()):
        assert driver.poll() is None and time.monotonic() < end, driver.stderr.read() if driver.poll() else "no stop"
        time.sleep(0.1)
    workers = psutil.Process(driver.pid).children()
    driver.kill()
    driver.wait()
    psutil.wait_procs(workers, timeout=30)
    assert not any(w.is_running() for w in workers), "a worker outlived the compare process"
    assert not (out / "results.csv").exists()
    done = [s for s in range(3) if (out / f"runs/digits/mlp-s{s}/metrics.json").exists()]
    assert 1 <= len(done) <= 2
    r = run_cli(*args, "--out", out, "--resume")
    assert r.returncode == 0, r.stderr
    assert all(f"(seed {s}) kept from the earlier run" in r.stderr for s in done), r.stderr
    keep = ("data", "model", "seed", "test_accuracy", "test_loss", "best_epoch", "epochs_run", "best_val_loss")
    rows = [[{k: row[k] for k in keep} for row in csv.DictReader(open(d / "results.csv"))] for d in (ref, out)]
    assert rows[0] == rows[1] and len(rows[0]) == 3
