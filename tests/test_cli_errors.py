"""Bad input: one line naming the problem, a non-zero exit (2 for usage), never a traceback."""
import gzip
import shutil
import time

import pytest
from helpers import cli, run_cli

USAGE = [
    (["train", "nosuchmodel"], "unknown model 'nosuchmodel'"),
    (["train", "cnn", "--data", "nosuchdata"], "unknown data set 'nosuchdata'"),
    (["train", "cnn", "--data", "digts"], "did you mean 'digits'"),
    (["train", "cnn", "--epochs", "-3"], "--epochs must be a positive number"),
    (["train", "cnn", "--epochs", "many"], "invalid int value"),
    (["train", "cnn", "--set", "bogus=1"], "unknown setting 'bogus'"),
    (["train", "cnn", "--set", "monitor=val_accuracy"], "unknown monitor"),
    (["train", "cnn", "--set", "noequals"], "key=value"),
    (["train", "cnn", "--data", "seq-sum"], "does not take sequence data"),
    (["train", "cnn", "--config", "/nonexistent.yaml"], "does not exist"),
    (["train", "lstm", "--data", "seq-sum", "--set", "seq_len=0"], "seq_len"),
    (["compare", "cnn", "--data", "seq-sum"], "takes"),
    (["compare", "mlp", "--budget", "hours=2"], "--budget"),
    (["train", "lstm", "--data", "seq-sum", "--set", "data_seed=a"], "data_seed must be a whole number"),
    # the last value of a grid is checked before the first run trains
    (["compare", "lstm", "--data", "seq-sum", "--sweep", "data_seed=0,b"], "data_seed must be a whole number"),
    # model hyperparameters and data options are checked against their annotations before anything is built
    (["train", "lstm", "--data", "seq-sum", "--set", "hidden_size=big"], "hidden_size must be a whole number, got 'big'"),
    (["train", "lstm", "--data", "seq-sum", "--set", "num_layers=1.5"], "num_layers must be a whole number"),
    (["train", "lstm", "--data", "seq-sum", "--set", "dropout=high"], "dropout must be a number"),
    (["train", "lstm", "--data", "seq-sum", "--set", "pooling=3"], "pooling must be text"),
    (["compare", "lstm", "gru", "--data", "seq-sum", "--sweep", "seq_len=50,100", "--set", "n_samples=two"],
     "n_samples must be a whole number"),
    (["train", "mlp", "--set", "grad_clip=abc"], "grad_clip must be a number"),
    (["train", "mlp", "--threads", "-1"], "threads must be positive"),
    (["train", "mlp", "--set", "max_steps=-1"], "max_steps must be positive"),
    # sizes and probabilities out of range (registry.AT_LEAST), before anything is built
    (["summary", "gru", "--data", "seq-sum", "--set", "hidden_size=0"], "hidden_size must be at least 1, got 0"),
    (["summary", "transformer", "--data", "seq-sum", "--set", "num_heads=0"], "num_heads must be at least 1"),
    (["summary", "mlp", "--set", "hidden_sizes=[256,0]"], "each entry of hidden_sizes must be at least 1"),
    (["summary", "cnn", "--set", "fc_size=0"], "fc_size must be at least 1"),
    (["train", "cnn", "--set", "dropout=1"], "dropout must be a probability: at least 0 and below 1, got 1"),
    (["train", "mlp", "--set", "label_smoothing=1"], "label_smoothing must be a probability"),
    (["train", "mlp", "--set", "seed=1.5"], "seed must be a whole number, got 1.5"),
    (["train", "mlp", "--set", "grad_clip=-1"], "grad_clip must be at least 0, got -1"),
    (["train", "mlp", "--target-accuracy", "1.5"], "target_accuracy must be a fraction: above 0 and at most 1"),
    (["compare", "lstm", "--data", "first-marked", "--set", "noise=-1"], "noise must be at least 0, got -1"),
    # sizes that fit no range table: the model's own complaint, as a usage error
    (["summary", "transformer", "--data", "seq-sum", "--set", "num_heads=3"],
     "cannot be built with num_heads=3, dropout=0.0, norm='post': embed_dim 64 is not divisible by num_heads 3"),
    (["predict", "no-such-run", "x.png", "--top", "0"], "--top: must be at least 1"),
    (["gradients", "gru", "--samples", "0"], "--samples: must be at least 1"),
    (["compare", "mlp", "--repeats", "0"], "--repeats: must be at least 1"),
    (["compare", "mlp", "--resume"], "give that folder as --out DIR"),
    # checked once before torchrun starts N processes, each of which would say it
    (["train", "mlp", "--nproc", "2", "--set", "bogus=1"], "unknown setting 'bogus'"),
]


@pytest.mark.parametrize("args,needle", USAGE)
def test_usage_errors_exit_2_with_one_line(args, needle, tmp_path):
    res = cli(*args, "--out", tmp_path / "run") if args[0] == "train" else cli(*args)
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert needle in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_cuda_without_gpu(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    res = run_cli("train", "mlp", "--device", "cuda", "--out", tmp_path / "r")
    assert res.returncode == 2 and "no CUDA GPU" in res.stderr


def test_more_processes_than_gpus_is_a_usage_error(monkeypatch):
    """On a one-GPU machine `--nproc 2` used to die in rank 1 with 'CUDA error: invalid device ordinal'."""
    import torch

    from archbench.errors import UsageError
    from archbench.train.runtime import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto", local_rank=0) == torch.device("cuda", 0)
    with pytest.raises(UsageError, match=r"2 processes need a GPU each, and this machine has 1: use --nproc 1"):
        resolve_device("auto", local_rank=1)


def test_not_a_run_directory(tmp_path):
    for cmd in (["evaluate", tmp_path], ["train", "--resume", tmp_path], ["predict", tmp_path, "x.png"]):
        res = cli(*cmd)
        assert res.returncode == 1 and "not an archbench run" in res.stderr and "Traceback" not in res.stderr
    res = cli("evaluate", tmp_path / "missing")
    assert res.returncode == 1 and "not a directory" in res.stderr


def test_resume_keeps_the_runs_configuration_and_leaves_a_finished_run_alone(tmp_path):
    run = tmp_path / "r"
    assert run_cli("train", "mlp", "--data", "digits", "--epochs", "1", "--progress", "none", "--out", run).returncode == 0
    before = (run / "metrics.json").read_text()
    res = cli("train", "--resume", run, "--epochs", "4")  # was silently ignored: now says why not
    assert res.returncode == 2 and "cannot change epochs" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = cli("train", "--resume", run, "--progress", "none", "--threads", "1")  # how to run may change
    assert res.returncode == 0 and "is finished (all 1 epochs)" in res.stderr
    assert (run / "metrics.json").read_text() == before


def test_missing_and_corrupt_data_files(tmp_path, shared_data):
    res = run_cli("train", "mlp", "--data", "mnist", "--data-dir", tmp_path, "--out", tmp_path / "r")
    assert res.returncode == 1 and "no mnist files" in res.stderr
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for p in (shared_data / "MNIST" / "raw").glob("*.gz"):
        shutil.copy(p, raw / p.name)
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"garbage" * 10))
    res = run_cli("train", "mlp", "--data", "mnist", "--data-dir", tmp_path, "--out", tmp_path / "r")
    # a checksum that differs is not enough to refuse (another gzip of the same data differs too): the content is
    assert res.returncode == 1 and "corrupt data file" in res.stderr and "train-labels" in res.stderr
    assert "Traceback" not in res.stderr


def test_failed_run_leaves_earlier_files_intact(tmp_path):
    out = tmp_path / "run"
    ok = run_cli("train", "mlp", "--data", "digits", "--epochs", "1", "--threads", "1", "--progress", "none", "--out", out)
    assert ok.returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    bad = cli("train", "mlp", "--data", "digits", "--epochs", "-1", "--out", out)
    assert bad.returncode == 2
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert before == after


def test_help_is_fast_and_explains_every_command():
    t = time.perf_counter()
    res = run_cli("--help")
    assert res.returncode == 0 and time.perf_counter() - t < 3.0  # the interpreter's own start included
    for cmd in ("train", "evaluate", "predict", "compare", "fundamentals", "explain", "gradients", "summary",
                "lr-find", "tune", "bench", "report", "models", "datasets"):
        assert cmd in res.stdout
        sub = cli(cmd, "--help")
        assert sub.returncode == 0 and "usage:" in sub.stdout


def test_set_values_are_checked_against_annotations():
    import inspect
    from typing import Optional

    from archbench.errors import UsageError
    from archbench.registry import check_types

    # real annotations, and the strings that `from __future__ import annotations` leaves
    def f(*, n: int = 1, p: float = 0.5, on: bool = False, name: str = "a", k: Optional[int] = None,
          m: "Optional[float]" = None, s: "int" = 0, any_=None):
        pass

    sig = inspect.signature(f)
    check_types(dict(n=3, p=1, on=True, name="b", k=None, m=None, s=2, any_=[1, "x"]), sig)  # ints pass as floats
    check_types(dict(k=4, m=0.5, unknown="left to the function"), sig)
    for bad in (dict(n=True), dict(n=2.0), dict(p="x"), dict(on=1), dict(name=3), dict(k="x"), dict(m="x"),
                dict(s="2")):
        with pytest.raises(UsageError):
            check_types(bad, sig)


@pytest.mark.parametrize("args", [["fundamentals"], ["compare", "mlp", "--epochs", "1"], ["lr-find", "mlp"],
                                  ["gradients", "gru", "--data", "seq-sum", "--set", "n_samples=100"]])
def test_out_never_writes_over_another_kind_of_directory(args, tmp_path):
    """`explain RUN --out RUN` once replaced the run's marker and page: `evaluate` then refused the run."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "archbench.json").write_text('{"type": "run", "title": "mlp on digits"}')
    (run / "report.html").write_text("the run's page")
    res = cli(*args, "--out", run)
    assert res.returncode == 2 and "already holds an archbench run directory" in res.stderr, res.stderr
    assert sorted(p.name for p in run.iterdir()) == ["archbench.json", "report.html"]
    assert (run / "report.html").read_text() == "the run's page"


def test_out_that_is_a_file_or_cannot_be_made(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    res = cli("fundamentals", "--out", f)
    assert res.returncode == 2 and "is a file, not a folder" in res.stderr
    res = cli("fundamentals", "--out", f / "sub")
    assert res.returncode == 2 and "cannot create --out" in res.stderr and "Traceback" not in res.stderr


def test_a_new_run_never_replaces_an_interrupted_runs_checkpoint(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "archbench.json").write_text('{"type": "run", "title": "mlp on digits"}')
    (run / "checkpoint.safetensors").write_bytes(b"the last good checkpoint")
    res = cli("train", "mlp", "--epochs", "1", "--out", run)
    assert res.returncode == 2 and "--resume" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert (run / "checkpoint.safetensors").read_bytes() == b"the last good checkpoint"
