"""Precision and compile: bf16 trains as well as fp32; compile falls back cleanly; clear device errors."""
import pytest
import torch

from archbench import TrainConfig, train_model
from archbench.errors import UsageError
from archbench.train.runtime import resolve_device, resolve_precision

FAST = dict(progress="none", threads=1)


def test_bf16_and_fp32_train_to_within_a_point():
    accs = {}
    for p in ("fp32", "bf16"):
        res = train_model(TrainConfig(model="mlp", data="digits", epochs=4, precision=p, **FAST), {"augment": "none"},
                          write=False)
        assert res.metrics["precision"] == p
        accs[p] = res.metrics["test_accuracy"]
    assert accs["fp32"] > 0.9
    assert abs(accs["fp32"] - accs["bf16"]) < 0.02  # stated tolerance: 2 points on 359 test digits


def test_auto_precision_is_recorded_and_sane():
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu, "recurrent", "gru", "sequence") == "fp32"
    assert resolve_precision("auto", cpu, "cnn") in ("fp32", "bf16")
    from archbench.train.runtime import cpu_has_bf16

    bf16 = "bf16" if cpu_has_bf16() else "fp32"
    assert resolve_precision("auto", cpu, "recurrent", "lstm", "sequence") == bf16
    assert resolve_precision("auto", cpu, "recurrent", "lstm", "forecast") == "fp32"  # regression stays fp32
    with pytest.raises(UsageError, match="CUDA"):
        resolve_precision("fp16", cpu, "cnn")


def test_auto_keeps_the_tanh_rnns_in_fp32_on_a_gpu(monkeypatch):
    # no CUDA call is made for rnn and birnn; the others ask the GPU whether it has bf16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    gpu = torch.device("cuda", 0)
    assert resolve_precision("auto", gpu, "recurrent", "birnn", "sequence") == "fp32"
    assert resolve_precision("auto", gpu, "recurrent", "rnn", "text") == "fp32"
    assert resolve_precision("auto", gpu, "recurrent", "gru", "sequence") == "bf16"
    assert resolve_precision("bf16", gpu, "recurrent", "birnn", "sequence") == "bf16"  # asked for, given


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(UsageError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_compile_falls_back_to_eager(monkeypatch):
    def broken(model, *a, **k):
        def fail(*args, **kwargs):
            raise RuntimeError("backend compiler failed")

        wrapped = torch.nn.Module()
        wrapped._orig_mod = model
        wrapped.forward = fail
        return wrapped

    monkeypatch.setattr(torch, "compile", broken)
    res = train_model(TrainConfig(model="mlp", data="digits", epochs=1, compile=True, **FAST), {"augment": "none"},
                      write=False)
    assert res.metrics["test_accuracy"] > 0.5
