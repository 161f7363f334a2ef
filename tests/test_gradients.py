import json

import torch

from archbench.data import load_data
from archbench.data.base import DataBundle, Split
from archbench.models import build_model
from archbench.viz.gradients import gradient_study, write_gradient_study


def seq_sum(t=40):
    return load_data("seq-sum", n_samples=200, seq_len=t)


def model(name, bundle, **hp):
    torch.manual_seed(0)
    return build_model(name, bundle.meta(), hidden_size=32, **hp)


def test_one_value_per_step_and_a_row_per_parameter():
    b = seq_sum()
    m = model("lstm", b)
    r = gradient_study(m, b, n=32)
    assert len(r["per_step"]) == 40 and r["steps"] == 40 and r["n"] == 32
    assert all(v >= 0 for v in r["per_step"])
    names = {p["parameter"] for p in r["params"]}
    assert names == {n for n, _ in m.named_parameters()}
    assert all(p["grad_norm"] > 0 for p in r["params"])
    assert all(p.grad is None for p in m.parameters())  # leaves the model as it found it


def test_rnn_gradient_vanishes_toward_early_steps_and_lstm_keeps_it():
    b = seq_sum(40)
    rnn = gradient_study(model("rnn", b), b, n=32)
    lstm = gradient_study(model("lstm", b), b, n=32)
    # untrained: the RNN's gradient shrinks geometrically with distance, the LSTM's cell path carries it
    assert rnn["early_late_ratio"] < 1e-4
    assert lstm["early_late_ratio"] > 100 * rnn["early_late_ratio"]
    assert lstm["first_step"] > 100 * rnn["first_step"]


def test_gradients_are_zeroed_first_so_repeats_agree():
    b = seq_sum(20)
    m = model("gru", b, dropout=0.3)  # dropout: the study's seed must fix its masks too
    for p in m.parameters():
        p.grad = torch.full_like(p, 5.0)  # stale gradients from "training"
    m.eval()
    first = gradient_study(m, b, n=16)
    second = gradient_study(m, b, n=16)
    assert first["per_step"] == second["per_step"]
    assert [p["grad_norm"] for p in first["params"]] == [p["grad_norm"] for p in second["params"]]
    assert not m.training  # mode restored


def test_text_models_are_studied_through_their_embeddings():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, 20, (40, 12), generator=g)
    x[::2, 7:] = 0
    lengths = (x != 0).sum(1)
    y = torch.randint(0, 2, (40,), generator=g)
    split = Split(x, y, lengths)
    b = DataBundle("toy-text", "text", split, split, split, input_shape=(12,), num_classes=2, vocab_size=20)
    for name in ("lstm", "transformer"):
        torch.manual_seed(0)
        m = build_model(name, b.meta())
        r = gradient_study(m, b, n=40)
        assert len(r["per_step"]) == 12 and all(v > 0 for v in r["per_step"])


def test_write_gradient_study_files(tmp_path):
    b = seq_sum(15)
    results = {name: gradient_study(model(name, b), b, n=16) for name in ("rnn", "lstm")}
    write_gradient_study(results, tmp_path)
    for f in ("gradients.csv", "gradients_per_step.csv", "gradients.md", "gradients_per_step.png",
              "gradients_params.png", "figures.json", "archbench.json"):
        assert (tmp_path / f).is_file(), f
    assert json.loads((tmp_path / "archbench.json").read_text())["type"] == "gradients"
    figs = json.loads((tmp_path / "figures.json").read_text())
    assert {f["file"] for f in figs} == {"gradients_per_step.png", "gradients_params.png"}
    rows = (tmp_path / "gradients_per_step.csv").read_text().strip().splitlines()
    assert rows[0] == "model,step,grad_norm" and len(rows) == 1 + 2 * 15
    assert "rnn.weight_hh_l0" in (tmp_path / "gradients.csv").read_text()
