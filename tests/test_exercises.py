"""docs/exercises.md's claims, checked in direction on today's code at small size (the full-size
figures are in the doc with their commands); 2.1 and 3.1 train for a few epochs, 4.1 builds its models."""
import torch

from archbench import TrainConfig, explain_run, train_model
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


def params(model, data_meta, **hp):
    return sum(p.numel() for p in build_model(model, data_meta, **hp).parameters())


DIGITS = {"kind": "image", "task": "classification", "input_shape": [1, 8, 8], "num_classes": 10}
SEQ_SUM = {"kind": "sequence", "task": "classification", "input_shape": [50, 1], "num_classes": 2}


def test_21_variant_sizes_and_dropout_against_memorising(tmp_path):
    """The table's parameter counts, and its dropout finding in direction: without dropout the training
    loss falls far below the validation loss; with dropout 0.5 it stays near it."""
    mlp = lambda **hp: params("mlp", DIGITS, **hp)
    assert mlp() == 167_178 and mlp(hidden_sizes=[64]) == 4_810 and mlp(hidden_sizes=[1024, 1024]) == 1_126_410
    assert mlp(hidden_sizes=[512, 256, 128], activation="gelu", dropout=0.3) == 198_794
    settings = {"epochs": 12, "threads": 1, "precision": "fp32", "progress": "none", "seed": 0}
    gap = {}
    for dropout in (0.0, 0.5):
        res = train_model(TrainConfig(model="mlp", data="digits", out=str(tmp_path / f"d{dropout}")),
                          {**settings, "dropout": dropout})
        last = res.history[-1]
        gap[dropout] = float(last["val_loss"]) / float(last["train_loss"])
    assert gap[0.0] > 3 * gap[0.5], gap  # doc (30 epochs): 0.0498 / 0.00056 against 0.034 / 0.034


def test_31_feature_maps_shrink_while_channels_grow(tmp_path):
    run = tmp_path / "cnn"
    train_model(TrainConfig(model="cnn", data="digits", out=str(run)),
                {"epochs": 1, "max_steps": 5, "threads": 1, "precision": "fp32", "progress": "none"})
    text = (explain_run(run) / "explain.md").read_text()
    for row in ("| conv_blocks.0.0 | 1->32, 3x3 | 32 x 8 x 8 |", "| conv_blocks.1.0 | 32->64, 3x3 | 64 x 4 x 4 |",
                "| conv_blocks.2.0 | 64->128, 3x3 | 128 x 2 x 2 |"):
        assert row in text, row
    assert params("cnn", DIGITS) == 128_714


def test_41_parameter_counts_of_the_two_by_two():
    assert params("rnn", SEQ_SUM, pooling="last") == 12_738 and params("birnn", SEQ_SUM, pooling="last") == 33_666
    assert params("rnn", SEQ_SUM, pooling="attention") == 16_962
    assert params("birnn", SEQ_SUM, pooling="attention") == 50_306
