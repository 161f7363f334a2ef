"""docs/exercises.md's claims, checked in direction on today's code at small size (the full-size
figures are in the doc with their commands). Exercises 2.1, 3.1 and 4.1 train models and are not here."""
import torch

from archbench.cli.gradients import gradients_command
from archbench.models import build_model
from archbench.viz.fundamentals import activation_table


def ratio_table(out):
    rows = [line.split("|") for line in (out / "gradients.md").read_text().splitlines()
            if line.startswith(("| rnn |", "| lstm |", "| gru |"))]
    return {r[1].strip(): float(r[6]) for r in rows}


def test_11_sigmoid_and_tanh_derivatives_saturate_relu_does_not():
    x, acts = activation_table()
    assert float(acts["Sigmoid"][1].max()) <= 0.25 + 1e-6 and float(acts["Tanh"][1].max()) <= 1 + 1e-6
    far = x.abs() > 3
    assert float(acts["Sigmoid"][1][far].max()) < 0.05 and float(acts["Tanh"][1][far].max()) < 0.01
    assert float(acts["ReLU"][1][x > 0].min()) == 1.0


def test_11_and_51_gated_cells_keep_the_gradient_and_chrono_biases_keep_it_whole(tmp_path):
    torch.set_num_threads(1)
    common = {"n_samples": 200, "seq_len": 50}
    plain = ratio_table(gradients_command(["rnn", "lstm", "gru"], "seq-sum", common, tmp_path / "a", n=32))
    chrono = ratio_table(gradients_command(["lstm", "gru"], "seq-sum", {**common, "chrono": True}, tmp_path / "b", n=32))
    assert plain["rnn"] < 1e-8 and plain["rnn"] * 30 < min(plain["lstm"], plain["gru"])  # doc: 3.7e-10 vs 4e-8
    assert chrono["lstm"] > 0.1 and chrono["gru"] > 0.1  # doc: 0.503 and 1.14, within a factor of about 2


def test_51_parameter_counts():
    meta = {"kind": "sequence", "task": "classification", "input_shape": [50, 1], "num_classes": 2}
    count = {m: sum(p.numel() for p in build_model(m, meta, num_layers=2).parameters()) for m in ("lstm", "gru")}
    assert count == {"lstm": 50_690, "gru": 37_954}  # the doc's hand computation
