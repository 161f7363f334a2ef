"""The training core: reproducibility, early stopping, checkpoints, resume."""
import json
import os
from pathlib import Path

import pytest
import torch
from helpers import strip_timing

from archbench import TrainConfig
from archbench import train_model as train
from archbench.train.callbacks import EarlyStopping
from archbench.train.checkpoint import flatten, load_checkpoint, load_state, save_checkpoint, save_state, unflatten
from archbench.train.evaluate import evaluate
from archbench.train.runtime import Runtime

FAST = dict(progress="none", threads=1, precision="fp32", device="cpu")  # exact repeats: a CPU promise


def small(model="mlp", **kw):
    cfg = TrainConfig(model=model, data="digits", epochs=kw.pop("epochs", 3), batch_size=64, **FAST)
    return cfg, kw


def test_same_seed_same_history():
    runs = []
    for _ in range(2):
        cfg, kw = small(seed=7)
        runs.append(train(cfg, {"seed": 7, "augment": "none"}, write=False))
    assert strip_timing(runs[0].history) == strip_timing(runs[1].history)
    a, b = runs[0].model.state_dict(), runs[1].model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    cfg, _ = small()
    other = train(cfg, {"seed": 8, "augment": "none"}, write=False)
    assert strip_timing(other.history) != strip_timing(runs[0].history)


def test_early_stopping_restores_exactly_the_best_weights():
    # a high constant learning rate makes validation loss wander, so the best epoch is not the last
    cfg, _ = small(epochs=8)
    res = train(cfg, {"optimizer": "sgd", "lr": 0.3, "scheduler": "none", "patience": 3, "augment": "none",
                      "dropout": 0.0}, write=False)
    losses = [r["val_loss"] for r in res.history]
    rt = Runtime(device=torch.device("cpu"), precision="fp32")
    restored = evaluate(res.model, res.bundle, res.bundle.val, rt)["loss"]
    assert restored == min(losses)
    assert res.metrics["best_epoch"] == losses.index(min(losses)) + 1


def test_early_stopping_keeps_a_deep_copy():
    model = torch.nn.Linear(3, 2)
    es = EarlyStopping(patience=2)
    es.step({"val_loss": 1.0}, model, 0)
    kept = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)  # training goes on and changes the live tensors
    assert es.step({"val_loss": 2.0}, model, 1) is False
    assert es.step({"val_loss": 3.0}, model, 2) is True  # patience 2 exhausted
    es.restore(model)
    assert torch.equal(model.weight, kept)


def test_unknown_monitor_is_an_error():
    from archbench.errors import UsageError

    with pytest.raises(UsageError, match="val_loss"):
        EarlyStopping(monitor="val_accuracy")


def test_state_round_trip_without_pickle(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    state = {"optimizer": opt.state_dict(), "t": (1, 2.5, None, "x"), "nested": {"a": [torch.arange(3)]}}
    tensors = {}
    back = unflatten(flatten(state, tensors), tensors)
    assert back["t"] == (1, 2.5, None, "x")
    assert set(back["optimizer"]["state"]) == {0, 1, 2, 3}  # int keys survive
    save_state(tmp_path / "s.safetensors", state)
    loaded = load_state(tmp_path / "s.safetensors")
    opt2 = torch.optim.Adam(model.parameters(), lr=0.01)
    opt2.load_state_dict(loaded["optimizer"])
    assert torch.equal(loaded["nested"]["a"][0], torch.arange(3))


def test_notebook_checkpoint_helpers(tmp_path):
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(3, 4)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "c.safetensors", model, opt, epoch=5)
    m2, o2 = torch.nn.Linear(4, 2), None
    o2 = torch.optim.SGD(m2.parameters(), lr=0.1, momentum=0.9)
    _, _, epoch = load_checkpoint(tmp_path / "c.safetensors", m2, o2)
    assert epoch == 5 and torch.equal(m2.weight, model.weight)
    assert torch.equal(o2.state_dict()["state"][0]["momentum_buffer"], opt.state_dict()["state"][0]["momentum_buffer"])


class Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@pytest.mark.parametrize("name", ["model.safetensors", "checkpoint.safetensors"])
def test_pickle_checkpoint_is_refused_without_running(tmp_path, name):
    import pickle

    from archbench.errors import CheckpointError
    from archbench.train.checkpoint import load_model

    (tmp_path / "model.json").write_text(json.dumps({"name": "mlp", "meta": {"kind": "image", "task": "classification",
                                                                              "input_shape": [1, 8, 8], "num_classes": 10}}))
    (tmp_path / name).write_bytes(pickle.dumps({"x": Boom()}))
    torch.save({"x": 1}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError):
        if name == "model.safetensors":
            load_model(tmp_path)
        else:
            load_state(tmp_path / name)
    with pytest.raises(CheckpointError):
        load_state(tmp_path / "other.pth")
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


def test_the_library_never_replaces_an_interrupted_runs_checkpoint(tmp_path):
    from archbench.errors import UsageError

    run = tmp_path / "run"
    run.mkdir()
    (run / "archbench.json").write_text('{"type": "run", "title": "mlp on digits"}')
    (run / "checkpoint.safetensors").write_bytes(b"the last good checkpoint")
    cfg, _ = small(epochs=1)
    cfg.out = str(run)
    with pytest.raises(UsageError, match="interrupted run.*--resume"):
        train(cfg)
    assert (run / "checkpoint.safetensors").read_bytes() == b"the last good checkpoint"
    res = train(cfg, replace_interrupted=True)  # what `compare` and `bench` ask: they rerun their grid
    assert (run / "metrics.json").is_file() and res.metrics["epochs_run"] == 1
    assert train(cfg).metrics["epochs_run"] == 1  # a finished run's folder is rewritten, as before



def test_weights_saved_without_wrapper_prefixes(tmp_path):
    from archbench.models import build_model
    from archbench.train.checkpoint import load_model, save_model

    meta = {"kind": "image", "task": "classification", "input_shape": [1, 8, 8], "num_classes": 10}
    model = build_model("mlp", meta)
    wrapped = torch.compile(model)  # its state_dict keys carry '_orig_mod.'
    assert any(k.startswith("_orig_mod.") for k in wrapped.state_dict())
    save_model(wrapped, tmp_path)
    from safetensors.torch import load_file

    assert not any(k.startswith(("_orig_mod.", "module.")) for k in load_file(tmp_path / "model.safetensors"))
    plain = load_model(tmp_path)
    assert all(torch.equal(plain.state_dict()[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("model,data", [("cnn", "digits"), ("rnn", "seq-sum"), ("birnn", "seq-sum"),
                                        ("gru", "seq-sum"), ("lstm-attn", "seq-sum"), ("transformer", "seq-sum")])
def test_every_family_repeats_exactly_with_a_seed(model, data):
    """Dropout, augmentation, attention and recurrent kernels all draw from the run's seed."""
    over = {"seed": 3, "epochs": 2, "batch_size": 32, **({"n_samples": 200, "seq_len": 12} if data == "seq-sum" else {})}
    runs = [train(TrainConfig(model=model, data=data, **FAST), dict(over), write=False) for _ in range(2)]
    assert strip_timing(runs[0].history) == strip_timing(runs[1].history)
    a, b = runs[0].model.state_dict(), runs[1].model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_recipe_can_set_model_defaults_that_the_user_overrides():
    from archbench.config import apply_recipe

    cfg = TrainConfig(model="lstm", data="seq-sum")
    cfg.model_args["hidden_size"] = 32  # the user's --set
    apply_recipe(cfg, {"epochs": 9, "dropout": 0.0, "hidden_size": 128}, model_hparams={"dropout", "hidden_size"})
    assert cfg.epochs == 9 and cfg.model_args == {"hidden_size": 32, "dropout": 0.0}


def test_a_recipes_step_floor_lengthens_short_epochs_but_never_the_users_epochs():
    from archbench.config import apply_recipe

    recipe = {"epochs": 4, "batch_size": 512, "min_steps": 20, "scheduler": "onecycle", "lr": 3e-3}
    cfg = TrainConfig(model="mlp", data="digits", **FAST)
    apply_recipe(cfg, recipe)
    # digits: 1294 training images in full batches of 512 -> 2 steps an epoch -> 10 epochs reach 20 steps
    res = train(cfg, {"augment": "none"}, write=False)
    # the one-cycle schedule spans the 10 epochs: it has come down to its end by the last one
    assert len(res.history) == 10 and res.history[-1]["lr"] < 0.05 * max(r["lr"] for r in res.history)
    mine = TrainConfig(model="mlp", data="digits", epochs=3, **FAST)
    apply_recipe(mine, recipe)
    assert mine.min_steps == 0 and len(train(mine, write=False).history) == 3


def test_samples_per_s_counts_only_the_steps_run():
    # 5 steps of 64 in a run cut short mid-epoch: the rate is 320 samples over the epoch's training time
    cfg, _ = small(epochs=2)
    res = train(cfg, {"max_steps": 5, "augment": "none"}, write=False)
    (row,) = res.history
    assert res.metrics["samples_per_s"] == pytest.approx(5 * 64 / row["seconds"], rel=0.01)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_fused_optimizers_take_the_same_steps_as_the_plain_ones(name):
    """build_optimizer picks torch's fused kernels where they exist (one kernel per step on CPU and
    CUDA): the parameters must follow the plain implementation's trajectory."""
    from archbench.train.optim import build_optimizer

    torch.manual_seed(0)
    start = [torch.randn(16, 8), torch.randn(8)]
    grads = [[torch.randn_like(p) for p in start] for _ in range(5)]
    runs = []
    for fused in (True, False):
        params = [p.clone().requires_grad_() for p in start]
        opt = build_optimizer(name, params, lr=1e-2, weight_decay=1e-2)
        if not fused:  # the same optimiser with the per-tensor loop
            for g in opt.param_groups:
                g["fused"] = None
                g["foreach"] = False
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.clone()
            opt.step()
        runs.append(params)
        if fused:  # torch >= 2.4 (the package's floor) has them on CPU
            assert opt.param_groups[0]["fused"], "the fused kernel was not chosen on CPU"
    for a, b in zip(*runs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
