"""The CUDA paths on a real GPU: skipped where there is none (tests/test_precision.py checks the message
then). What a GPU run must do: keep the data and the augmentation on the device, choose bf16 for `auto`,
resume from a checkpoint, train under torchrun with NCCL, and write weights that a CPU-only process reads."""
import json

import pytest
import torch
from helpers import run_cli, start_and_kill_after_epoch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

def tiny(epochs=3):
    return ["--data", "digits", "--device", "cuda", "--progress", "none", "--epochs", str(epochs)]


def metrics(d):
    return json.loads((d / "metrics.json").read_text())


def config(d):
    return json.loads((d / "config.json").read_text())


@pytest.mark.parametrize("model", ["mlp", "cnn", "resnet-small"])
def test_image_models_train_on_the_gpu_in_bf16(tmp_path, model):
    res = run_cli("train", model, *tiny(), "--out", tmp_path / model)
    assert res.returncode == 0, res.stderr
    m, c = metrics(tmp_path / model), config(tmp_path / model)
    assert c["resolved"]["device"].startswith("cuda") and c["resolved"]["precision"] == "bf16"
    assert m["device"].startswith("cuda") and m["precision"] == "bf16"
    assert m["test_accuracy"] > 0.5  # 3 epochs on digits (chance: 10%): a model that trains passes
    assert (m["peak_cuda_mb"] or 0) > 0


@pytest.mark.parametrize("model", ["rnn", "birnn", "lstm", "gru", "transformer", "lstm-attn"])
def test_sequence_models_train_on_the_gpu(tmp_path, model):
    res = run_cli("train", model, "--data", "seq-sum", "--device", "cuda", "--progress", "none", "--epochs", "3",
                  "--out", tmp_path / model)
    assert res.returncode == 0, res.stderr
    assert metrics(tmp_path / model)["test_accuracy"] > 0.75  # chance: 50%


def test_killed_cuda_run_resumes_and_its_weights_load_on_a_cpu(tmp_path):
    run = tmp_path / "r"
    start_and_kill_after_epoch(["train", "mlp", *tiny(30)], run)
    more = run_cli("train", "--resume", run, "--progress", "none")
    assert more.returncode == 0, more.stderr
    assert metrics(run)["epochs_run"] == 30 and metrics(run)["device"].startswith("cuda")
    pred = run_cli("evaluate", run, env={"CUDA_VISIBLE_DEVICES": ""})  # GPU-written weights, a CPU-only process
    assert pred.returncode == 0, pred.stderr


def test_torchrun_with_nccl_on_one_gpu(tmp_path, loopback_net):
    res = run_cli("train", "cnn", *tiny(), "--nproc", "1", "--out", tmp_path / "ddp", prefix=loopback_net.prefix)
    assert res.returncode == 0, res.stderr
    m = metrics(tmp_path / "ddp")
    assert m["world_size"] == 1 and m["test_accuracy"] > 0.8


def test_compile_on_the_gpu_trains(tmp_path):
    res = run_cli("train", "mlp", *tiny(), "--compile", "--out", tmp_path / "c")
    assert res.returncode == 0, res.stderr
    assert metrics(tmp_path / "c")["test_accuracy"] > 0.8
