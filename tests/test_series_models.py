"""FCN, ResNet-1d, InceptionTime, Kim's CNN and the MiniRocket baseline on tiny inputs."""
import json

import numpy as np
import pytest
import torch

from archbench.config import TrainConfig
from archbench.experiment.run import train
from archbench.models import build_model

SERIES_MODELS = ("fcn", "resnet1d", "inceptiontime")


def write_ucr(folder, n_train=24, n_test=12, length=32, seed=0):
    """A two-class .ts pair: noisy sines against noisy square waves, length ``length``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    t = np.linspace(0, 4 * np.pi, length)
    for split, n in (("TRAIN", n_train), ("TEST", n_test)):
        rows = []
        for i in range(n):
            label = i % 2
            wave = np.sin(t + rng.uniform(0, 3)) if label == 0 else np.sign(np.sin(t + rng.uniform(0, 3)))
            x = wave + 0.1 * rng.standard_normal(length)
            rows.append(",".join(f"{v:.4f}" for v in x) + f":{'sq' if label else 'sin'}")
        head = (f"@problemName Waves\n@univariate true\n@equalLength true\n@seriesLength {length}\n"
                "@classLabel true sin sq\n@data\n")
        (folder / f"Waves_{split}.ts").write_text(head + "\n".join(rows) + "\n")
    return folder


@pytest.mark.parametrize("name", SERIES_MODELS)
@pytest.mark.parametrize("length,channels", [(30, 1), (11, 3)])
def test_series_model_shapes_and_a_learning_step(name, length, channels):
    meta = {"kind": "sequence", "task": "classification", "input_shape": [length, channels], "num_classes": 4}
    torch.manual_seed(0)
    model = build_model(name, meta)
    x, y = torch.randn(8, length, channels), torch.arange(8) % 4
    out = model(x)
    assert out.shape == (8, 4) and torch.isfinite(out).all()
    if channels > 1:
        return  # the learning step once per model is enough
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(4):  # the same batch: a working network fits it
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_series_models_reject_text_and_keep_the_length():
    from archbench.errors import UsageError

    with pytest.raises(UsageError, match="does not take text"):
        build_model("fcn", {"kind": "text", "task": "classification", "input_shape": [10], "num_classes": 2,
                            "vocab_size": 50})
    model = build_model("inceptiontime", {"kind": "sequence", "task": "classification", "input_shape": [17, 2],
                                          "num_classes": 3})
    h = model.modules_[0](torch.randn(2, 2, 17))  # (B, C, T) -> (B, 4 x 32, T): 'same' padding, even kernels too
    assert h.shape == (2, 128, 17)


@pytest.mark.parametrize("name", SERIES_MODELS)
def test_series_model_trains_through_archbench(tmp_path, name):
    folder = write_ucr(tmp_path / "Waves")
    cfg = TrainConfig(model=name, data=f"ucr:{folder}", epochs=3, threads=1, progress="none", seed=0)
    res = train(cfg, write=False)
    assert 0 <= res.metrics["test_accuracy"] <= 1 and len(res.history) == 3
    assert res.metrics["params"] > 0


def test_kim_cnn_shapes_padding_and_short_texts():
    meta = {"kind": "text", "task": "classification", "input_shape": [12], "num_classes": 2, "vocab_size": 40}
    torch.manual_seed(0)
    model = build_model("kimcnn", meta).eval()
    x = torch.randint(1, 40, (5, 12))
    x[0, 6:] = 0  # a shorter text, right-padded
    x[1, 2:] = 0  # shorter than the widest filter
    out = model(x)
    assert out.shape == (5, 2) and torch.isfinite(out).all()
    # more padding changes no prediction: max-over-time sees the real positions only
    wider = torch.nn.functional.pad(x, (0, 7))
    assert torch.allclose(model(wider), out, atol=1e-6)
    assert torch.isfinite(model(torch.tensor([[3, 0]]))).all()  # a 1-token text on a 2-step input
    assert sum(p.numel() for n, p in model.named_parameters() if n.startswith("convs")) == 300 * 100 * 12 + 300


def test_kim_cnn_learns_a_keyword():
    meta = {"kind": "text", "task": "classification", "input_shape": [8], "num_classes": 2, "vocab_size": 30}
    torch.manual_seed(0)
    model = build_model("kimcnn", meta, embed_dim=16, maps=8, dropout=0.0)
    x = torch.randint(3, 30, (32, 8))
    y = torch.arange(32) % 2
    x[y == 1, 4] = 2  # token 2 marks the positive texts
    x[y == 0] = torch.where(x[y == 0] == 2, 3, x[y == 0])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (model(x).argmax(1) == y).float().mean() == 1.0


def test_minirocket_fits_predicts_saves_and_repeats(tmp_path):
    pytest.importorskip("aeon")
    from safetensors.numpy import load_file

    from archbench.baselines.rocket import MiniRocketBaseline
    from archbench.data import load_data

    b = load_data(f"ucr:{write_ucr(tmp_path / 'Waves')}", seed=0)
    a = MiniRocketBaseline(n_kernels=84, seed=0).fit(b.train.x, b.train.y.numpy())
    pred = a.predict(b.test.x)
    assert pred.shape == (len(b.test),) and (pred == b.test.y.numpy()).mean() >= 0.9  # the waves are easy
    again = MiniRocketBaseline(n_kernels=84, seed=0).fit(b.train.x, b.train.y.numpy())
    assert np.array_equal(again.decision(b.test.x), a.decision(b.test.x))  # a refit is the same model
    a.save_state(tmp_path)
    arrays = load_file(str(tmp_path / "minirocket.safetensors"))
    assert arrays["coef"].shape[1] == arrays["scale"].shape[0] == a.settings()["features"]
    assert json.loads((tmp_path / "minirocket.json").read_text())["n_kernels"] == 84


def test_minirocket_run_directory(tmp_path):
    pytest.importorskip("aeon")
    folder = write_ucr(tmp_path / "Waves")
    cfg = TrainConfig(model="minirocket", data=f"ucr:{folder}", threads=1, progress="none", out=str(tmp_path / "run"))
    res = train(cfg)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["model"] == "minirocket" and metrics["test_accuracy"] == res.metrics["test_accuracy"]
    assert (tmp_path / "run" / "minirocket.safetensors").is_file()
    assert not list((tmp_path / "run").glob("*.pkl"))


def test_minirocket_refuses_images(tmp_path):
    from archbench.errors import UsageError

    with pytest.raises(UsageError, match="takes sequence data"):
        train(TrainConfig(model="minirocket", data="digits", progress="none"), write=False)


def test_ucr_recipe_keeps_the_weights_of_lowest_training_loss():
    """A UCR validation split holds a handful of series: the ucr recipe restores by training loss, as the
    FCN/ResNet papers select; own series (csv:) keep the validation loss."""
    from archbench.experiment.resolve import resolve_config
    from archbench.train.callbacks import EarlyStopping

    assert resolve_config(TrainConfig(model="fcn", data="ucr:GunPoint")).monitor == "train_loss"
    assert resolve_config(TrainConfig(model="fcn", data="ucr:GunPoint"), {"monitor": "val_acc"}).monitor == "val_acc"
    assert resolve_config(TrainConfig(model="fcn", data="seq-sum")).monitor == "val_loss"
    assert resolve_config(TrainConfig(model="fcn", data="ucr:GunPoint")).min_steps == 1500  # small sets: more epochs
    assert resolve_config(TrainConfig(model="fcn", data="ucr:GunPoint", epochs=5)).min_steps == 0  # the user's epochs
    model = torch.nn.Linear(1, 1)
    stopper = EarlyStopping(0, 0.0, "train_loss")
    for epoch, (train_loss, val_loss) in enumerate([(0.9, 0.5), (0.5, 0.6), (0.3, 0.7), (0.4, 0.4)], 1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        stopper.step({"train_loss": train_loss, "val_loss": val_loss, "val_acc": 0.5}, model, epoch)
    assert stopper.best_epoch == 3 and float(stopper.best_weights["weight"]) == 3.0
