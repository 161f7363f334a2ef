"""The course's Part 4 lesson, through `archbench gradients`' own set-up: a plain RNN's gradient to
its first inputs is orders of magnitude below an LSTM's and a GRU's, and the gap grows with length."""
import torch

from archbench.cli.gradients import NOTEBOOK_SETUP, gradients_command, notebook_settings, setup_line


def ratios(tmp_path, seq_len, recipe=False):
    torch.set_num_threads(1)
    settings = {"n_samples": 200, "seq_len": seq_len}
    out = gradients_command(["rnn", "lstm", "gru"], "seq-sum", settings, tmp_path / f"g{seq_len}{recipe}", n=32,
                            recipe=recipe)
    rows = [line.split("|") for line in (out / "gradients.md").read_text().splitlines()
            if line.startswith(("| rnn |", "| lstm |", "| gru |"))]
    return {r[1].strip(): float(r[6]) for r in rows}, (out / "gradients.md").read_text()


def test_rnn_gradient_vanishes_orders_of_magnitude_faster_and_more_so_when_longer(tmp_path):
    r50, md = ratios(tmp_path, 50)
    r200, _ = ratios(tmp_path, 200)
    assert "the notebook's" in md and "not the accuracy recipe" in md  # the output says which set-up
    for gated in ("lstm", "gru"):
        assert r50["rnn"] < r50[gated] / 30  # orders of magnitude (about 100x on this set-up)
        assert r200["rnn"] < r200[gated] / 1000
        assert r200["rnn"] / r200[gated] < r50["rnn"] / r50[gated]  # more so at 200 steps
    assert r200["rnn"] < r50["rnn"] < 1e-6


def test_the_notebook_setup_overrides_the_recipe_but_not_the_user():
    assert notebook_settings("rnn", {}) == {"init": "default", "num_layers": 2, "hidden_size": 64}
    assert notebook_settings("lstm", {"num_layers": 1})["num_layers"] == 1
    assert notebook_settings("lstm", {})["chrono"] is False
    assert "chrono" not in notebook_settings("transformer", {}) and "init" not in notebook_settings("transformer", {})
    assert "yours: num_layers=1" in setup_line(False, {"num_layers": 1})
    assert "recipe" in setup_line(True, {})
    assert set(NOTEBOOK_SETUP) == {"init", "chrono", "num_layers", "hidden_size"}


def test_recipe_flag_builds_the_accuracy_recipe(tmp_path):
    # seq-sum's recipe gives rnn the identity recurrence: its gradient no longer vanishes at 50 steps
    r, md = ratios(tmp_path, 50, recipe=True)
    assert "--recipe" in md
    assert r["rnn"] > 1e-3
