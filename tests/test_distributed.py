"""DistributedDataParallel through torchrun (gloo on CPU): same results as one process, resumable
across world sizes, and kill-and-resume under DDP."""
import json

import pytest
from helpers import run_cli, start_and_kill_after_epoch

pytestmark = pytest.mark.slow

# dropout off: each rank draws its own dropout masks, which is right for training but makes the
# comparison with one process a statistical one; without it the runs differ only by float rounding
ARGS = ["train", "mlp", "--data", "digits", "--batch-size", "64", "--threads", "1", "--precision", "fp32", "--device", "cpu",
        "--progress", "none", "--augment", "none", "--set", "dropout=0"]
TOL = 1e-4


def metrics(d):
    return json.loads((d / "metrics.json").read_text())


def history(d):
    lines = (d / "history.csv").read_text().splitlines()
    head = lines[0].split(",")
    return [dict(zip(head, map(float, l.split(",")))) for l in lines[1:]]


def test_the_private_network_has_loopback_alone(loopback_net):
    if not loopback_net.prefix:
        pytest.skip(loopback_net.reason)
    assert loopback_net.addresses() == {("lo", "127.0.0.1"), ("lo", "::1")}


def test_two_processes_match_one(tmp_path, loopback_net):
    one = run_cli(*ARGS, "--epochs", "3", "--out", tmp_path / "one")
    two = run_cli(*ARGS, "--epochs", "3", "--nproc", "2", "--out", tmp_path / "two", prefix=loopback_net.prefix)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    a, b = metrics(tmp_path / "one"), metrics(tmp_path / "two")
    assert b["world_size"] == 2
    assert abs(a["test_loss"] - b["test_loss"]) < TOL
    assert abs(a["test_accuracy"] - b["test_accuracy"]) <= 1 / 359 + 1e-9  # at most one test example apart
    for ra, rb in zip(history(tmp_path / "one"), history(tmp_path / "two")):
        assert abs(ra["train_loss"] - rb["train_loss"]) < TOL
        assert abs(ra["val_loss"] - rb["val_loss"]) < TOL
    # only rank 0 wrote: one set of files, no per-rank copies
    assert sorted(p.name for p in (tmp_path / "two").glob("*.safetensors")) == ["checkpoint.safetensors", "model.safetensors"]


def test_bad_data_is_reported_once_before_the_processes_start(tmp_path, loopback_net):
    res = run_cli("train", "mlp", "--data", "mnist", "--data-dir", tmp_path / "nothing", "--nproc", "2",
                  "--out", tmp_path / "run", prefix=loopback_net.prefix)
    assert res.returncode == 1 and res.stderr.count("no mnist files") == 1, res.stderr
    assert "launching" not in res.stderr and "Traceback" not in res.stderr


def test_a_failing_process_ends_the_command_in_one_line(tmp_path, loopback_net):
    """What only the processes find out (here: no GPU for --device cuda): each says why, then one line,
    not torchrun's traceback and failure table."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: --device cuda would train")
    res = run_cli("train", "mlp", "--data", "digits", "--device", "cuda", "--nproc", "2", "--out", tmp_path / "run",
                  prefix=loopback_net.prefix)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "ChildFailedError" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("archbench: error: process ")


@pytest.mark.parametrize("first,then", [(2, 1), (1, 2), (2, 2)])
def test_resume_across_world_sizes(tmp_path, first, then, loopback_net):
    ref = tmp_path / "ref"
    assert run_cli(*ARGS, "--epochs", "4", "--out", ref).returncode == 0
    args = ARGS + ["--epochs", "4"] + (["--nproc", str(first)] if first > 1 else [])
    out = tmp_path / "killed"
    start_and_kill_after_epoch(args, out, prefix=loopback_net.prefix)
    resume = ["train", "--resume", out] + (["--nproc", str(then)] if then > 1 else [])
    res = run_cli(*resume, prefix=loopback_net.prefix)
    assert res.returncode == 0, res.stderr
    a, b = metrics(ref), metrics(out)
    assert b["epochs_run"] == 4 and len(history(out)) == 4
    assert abs(a["test_loss"] - b["test_loss"]) < TOL
    assert abs(a["best_val_loss"] - b["best_val_loss"]) < TOL
