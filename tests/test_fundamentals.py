"""The fundamentals page: every figure is written, and the numbers behind them are right."""
import csv
import json
import math
import struct

import pytest
import torch

from archbench.viz import fundamentals_data as fu
from archbench.viz.fundamentals import write_fundamentals


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    threads = torch.get_num_threads()
    d = write_fundamentals(tmp_path_factory.mktemp("fundamentals"), progress=False)
    assert torch.get_num_threads() == threads  # the single-thread speed-up is undone
    return d


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_figures_json_lists_real_pngs(out):
    figures = json.loads((out / "figures.json").read_text())
    files = {f["file"] for f in figures}
    assert files == {"activations.png", "losses.png", "optimizers.png", "initialisations.png",
                     "init_activation_spread.png", "dropout.png", "regularization.png", "normalization.png",
                     "lr_schedules.png", "data_split.png", "conv_pooling.png", "positional_encoding.png",
                     "attention_concept.png"}
    for f in figures:
        assert f["title"] and len(f["caption"]) > 40
        path = out / f["file"]
        w, h = png_size(path)
        assert w >= 800 and h >= 400
        assert path.stat().st_size > 30_000  # a drawn figure, not an empty canvas
    meta = json.loads((out / "archbench.json").read_text())
    assert meta["type"] == "fundamentals" and meta["title"] == "Deep learning fundamentals"
    assert meta["created"][:2] == "20" and isinstance(meta["version"], str)
    md = (out / "fundamentals.md").read_text()
    for heading in ("Loss functions", "Optimisers", "Dropout", "L1 / L2", "Normalisation", "schedules", "Data split"):
        assert heading in md
    assert md.count("|---|") >= 7


def test_activation_derivatives_match_closed_forms():
    x = torch.tensor([-3.0, -1.0, -0.25, 0.5, 2.0])
    _, acts = fu.activation_table(x)
    assert len(acts) == 8
    s, t = torch.sigmoid(x), torch.tanh(x)
    phi = torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
    expected = {
        "Sigmoid": s * (1 - s),
        "Tanh": 1 - t ** 2,
        "ReLU": (x > 0).float(),
        "LeakyReLU (0.1)": torch.where(x > 0, 1.0, 0.1),
        "ELU": torch.where(x > 0, torch.ones_like(x), torch.exp(x)),
        "GELU": 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * phi,
        "Softplus": s,
        "Swish/SiLU": s * (1 + x * (1 - s)),
    }
    for name, (y, dy) in acts.items():
        torch.testing.assert_close(dy, expected[name], atol=1e-5, rtol=1e-4, msg=name)
    torch.testing.assert_close(acts["Sigmoid"][0], s)


def test_losses_match_hand_computation(out):
    rows = {r["loss"]: float(r["value"]) for r in read_csv(out / "losses.csv")}
    p, t = torch.tensor([0.9, 0.2, 0.8, 0.1]), torch.tensor([1.0, 0.0, 1.0, 0.0])
    bce = -(t * p.log() + (1 - t) * (1 - p).log()).mean()
    pr, tr = torch.tensor([2.5, 0.0, 2.1, 1.6]), torch.tensor([3.0, -0.5, 2.0, 1.5])
    z, y = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3]]), torch.tensor([0, 1])
    ce = (z.logsumexp(1) - z[torch.arange(2), y]).mean()
    assert rows["BCE"] == pytest.approx(float(bce), rel=1e-5)
    assert rows["MSE"] == pytest.approx(float(((pr - tr) ** 2).mean()), rel=1e-5)
    assert rows["MAE"] == pytest.approx(float((pr - tr).abs().mean()), rel=1e-5)
    assert rows["Cross-entropy"] == pytest.approx(float(ce), rel=1e-5)
    curves = fu.loss_curves(n=11)
    xs, mse = curves["MSE"]["(pred - target)^2"]
    assert mse == pytest.approx(xs ** 2, abs=1e-6)


def test_optimizer_paths_all_approach_the_minimum(out):
    rows = read_csv(out / "optimizers.csv")
    assert [r["optimizer"] for r in rows] == ["SGD", "SGD + momentum", "Adam", "RMSprop"]
    for r in rows:
        assert (float(r["start_x"]), float(r["start_y"])) == (-1.0, 1.0)
        assert float(r["end_distance"]) < float(r["start_distance"]), r["optimizer"]
        assert float(r["end_loss"]) < float(r["start_loss"])
        end = (float(r["end_x"]), float(r["end_y"]))
        # the CSV keeps 6 significant digits: x and y near 1 carry up to 5e-7 each, whatever the distance
        assert math.dist(end, (1, 1)) == pytest.approx(float(r["end_distance"]), abs=1.5e-6)
    by = {r["optimizer"]: float(r["end_distance"]) for r in rows}
    assert by["Adam"] < 0.05 and by["SGD + momentum"] < 0.05 and by["SGD"] > by["Adam"]
    # the recorded path is the optimiser's own: first point the start, losses are f at each point
    paths = fu.optimizer_paths(steps=20)
    for r in paths.values():
        assert r["path"].shape == (21, 2) and tuple(r["path"][0]) == (-1.0, 1.0)
        assert r["loss"] == pytest.approx(fu.rosenbrock(r["path"][:, 0], r["path"][:, 1]), rel=1e-4)
    again = fu.optimizer_paths(steps=20)
    assert all((paths[k]["path"] == again[k]["path"]).all() for k in paths)


def test_initialisations_have_their_theoretical_scale():
    w = fu.init_weights(100, 100)
    assert w["Normal (0, 1)"].std() == pytest.approx(1.0, rel=0.05)
    assert w["Uniform [-1, 1]"].std() == pytest.approx(1 / math.sqrt(3), rel=0.05)
    for kind in ("uniform", "normal"):
        assert w[f"Xavier {kind}"].std() == pytest.approx(math.sqrt(2 / 200), rel=0.05)
        assert w[f"Kaiming {kind} (He)"].std() == pytest.approx(math.sqrt(2 / 100), rel=0.05)
    spread = fu.activation_spread(depth=6, width=64, batch=128)
    relu = spread["relu"]
    assert relu["Normal (0, 1)"][-1] > 100 * relu["Normal (0, 1)"][0]  # explodes
    k = relu["Kaiming normal (He)"]
    assert 0.3 < k[-1] / k[0] < 3  # stays put
    assert relu["Xavier normal"][-1] < relu["Xavier normal"][0]  # shrinks


def test_dropout_train_vs_eval():
    rng = torch.get_rng_state()
    d = fu.dropout_demo(p=0.5, shape=(8, 16))
    assert torch.equal(torch.get_rng_state(), rng)  # the caller's RNG is not consumed
    assert torch.equal(d["eval"], d["input"])
    train = d["train"]
    zeros = train == 0
    assert 0.2 < zeros.float().mean() < 0.8
    torch.testing.assert_close(train[~zeros], torch.full_like(train[~zeros], 2.0))
    assert torch.equal(fu.dropout_demo(p=0.5, shape=(8, 16))["train"], train)  # seeded
    for r in fu.dropout_rates(ps=(0.2, 0.7), n=20_000):
        assert r["zero_fraction"] == pytest.approx(r["p"], abs=0.02)
        assert r["survivor_value"] == pytest.approx(1 / (1 - r["p"]), rel=1e-5)


def test_l1_drives_weights_to_zero_l2_does_not(out):
    rows = read_csv(out / "regularization.csv")
    mlp = {r["penalty"]: r for r in rows if r["model"].startswith("MLP")}
    for name in ("L1", "L2"):
        r = mlp[name]
        assert float(r["penalty_value"]) > 0
        assert float(r["total_loss"]) == pytest.approx(float(r["data_loss"]) + float(r["penalty_value"]), rel=1e-5)
    lin = {r["penalty"]: r for r in rows if r["model"].startswith("linear")}
    assert int(lin["L1"]["near_zero"]) >= 30
    assert int(lin["L2"]["near_zero"]) <= 5 and int(lin["none"]["near_zero"]) <= 5
    assert float(lin["L1"]["max_irrelevant_abs"]) < float(lin["L2"]["max_irrelevant_abs"])
    # the penalty terms are the notebook's: lambda * sum|w| and lambda * sum w^2
    m = fu.RegularizedModel().requires_grad_(False)
    params = torch.cat([p.detach().flatten() for p in m.parameters()])
    assert float(m.l1_penalty(0.01)) == pytest.approx(0.01 * float(params.abs().sum()), rel=1e-5)
    assert float(m.l2_penalty(0.01)) == pytest.approx(0.01 * float((params ** 2).sum()), rel=1e-5)


def test_batchnorm_and_layernorm_statistics(out):
    stats = fu.normalization_stats()
    x_bn, y_bn = stats["bn"]
    assert x_bn.std(0).min() < 1 and x_bn.std(0).max() > 5  # the input is far from normalised
    torch.testing.assert_close(y_bn.mean(0), torch.zeros(y_bn.shape[1]), atol=1e-5, rtol=0)
    torch.testing.assert_close(y_bn.std(0, unbiased=False), torch.ones(y_bn.shape[1]), atol=1e-3, rtol=0)
    _, y_ln = stats["ln"]
    torch.testing.assert_close(y_ln.mean(1), torch.zeros(y_ln.shape[0]), atol=1e-5, rtol=0)
    torch.testing.assert_close(y_ln.std(1, unbiased=False), torch.ones(y_ln.shape[0]), atol=1e-3, rtol=0)
    rows = read_csv(out / "normalization.csv")
    assert sum(r["norm"] == "BatchNorm1d" for r in rows) == y_bn.shape[1]
    assert sum(r["norm"] == "LayerNorm" for r in rows) == y_ln.shape[0]
    assert all(abs(float(r["mean_after"])) < 1e-4 for r in rows)


def test_lr_schedules():
    lrs = fu.lr_schedules(epochs=100)
    assert len(lrs) == 6 and all(len(v) == 100 for v in lrs.values())
    one = lrs["OneCycleLR (max 0.1)"]
    assert one.max() == pytest.approx(0.1, rel=1e-6)
    assert 0 < one.argmax() < 50 and one[0] < 0.01 and one[-1] < 1e-4
    step = lrs["StepLR (step 30, gamma 0.1)"]
    assert step[29] == pytest.approx(0.1) and step[30] == pytest.approx(0.01) and step[60] == pytest.approx(0.001)
    restart = lrs["CosineAnnealingWarmRestarts (T0 20)"]
    assert restart[20] == pytest.approx(0.1) and restart[19] < 0.01
    plateau = lrs["ReduceLROnPlateau (patience 10)"]
    first_drop = int((plateau < 0.1).argmax())
    assert first_drop > 20  # only once the synthetic validation loss has flattened
    assert plateau[-1] < 0.1


def test_data_split_is_70_15_15(out):
    rows = read_csv(out / "data_split.csv")
    sizes = {r["split"]: int(r["size"]) for r in rows}
    total = sum(sizes.values())
    assert total == 1000
    assert sizes == {"train": int(0.7 * total), "val": int(0.15 * total), "test": int(0.15 * total)}
    for r in rows:
        assert int(r["class_0"]) + int(r["class_1"]) == int(r["size"])
        assert int(r["batches"]) == math.ceil(int(r["size"]) / 32)
    assert fu.data_split() == fu.data_split()  # seeded
    small = fu.data_split(n=101)
    assert [r["size"] for r in small] == [70, 15, 16]
