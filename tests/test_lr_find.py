"""The learning-rate range test: reproducible, sensible, side-effect free."""
import csv
import json
import math

import numpy as np
import pytest
import torch

from archbench import TrainConfig
from archbench import train_model as train
from archbench.errors import UsageError
from archbench.experiment.lr_find import lr_find, suggest_lr
from archbench.train.lr_find import smooth, suggest

FAST = dict(progress="none", threads=1, precision="fp32")


def small(**kw):
    return TrainConfig(model="mlp", data="digits", batch_size=64, **FAST, **kw)


def test_same_suggestion_twice_inside_the_range_and_left_of_the_minimum():
    a = lr_find(small(), steps=60, start=1e-5, end=1.0)
    b = lr_find(small(), steps=60, start=1e-5, end=1.0)
    assert a["suggestion"] == b["suggestion"] and a["losses"] == b["losses"]
    assert 1e-5 <= a["suggestion"] <= 1.0
    assert a["suggestion"] < a["min_lr"]
    lrs = np.array(a["lrs"])
    assert lrs[0] == pytest.approx(1e-5) and len(lrs) <= 60
    assert np.allclose(np.diff(np.log(lrs)), math.log(1e5) / 59)  # exponential growth
    # the loss really falls: the smoothed minimum is well below where it started
    assert min(a["smoothed"]) < 0.5 * a["smoothed"][0]


def test_suggest_lr_is_exactly_reproducible():
    cfg = small(lr="auto")
    first, second = suggest_lr(cfg, steps=50), suggest_lr(cfg, steps=50)
    assert isinstance(first, float) and first == second
    assert cfg.lr == "auto"  # the caller's config is not touched


def test_train_with_lr_auto_uses_the_suggestion():
    res = train(small(lr="auto", epochs=1), {"scheduler": "none", "augment": "none"}, write=False)
    cfg = small(lr="auto", epochs=1, scheduler="none", augment="none")
    assert res.history[0]["lr"] == pytest.approx(suggest_lr(cfg))


def test_leaves_models_and_random_state_alone():
    from archbench import build_model

    torch.manual_seed(123)
    model = build_model("mlp", {"kind": "image", "task": "classification", "input_shape": [1, 8, 8], "num_classes": 10})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    lr_find(small(), steps=30)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())
    assert np.array_equal(np_state, np.random.get_state()[1])


def test_writes_figure_table_and_markers(tmp_path):
    res = lr_find(small(), steps=40, out_dir=tmp_path)
    for name in ("lr_find.png", "lr_find.csv", "lr_find.json", "figures.json", "archbench.json"):
        assert (tmp_path / name).is_file(), name
    rows = list(csv.DictReader((tmp_path / "lr_find.csv").open()))
    assert len(rows) == len(res["lrs"]) and float(rows[0]["lr"]) == pytest.approx(res["lrs"][0])
    marker = json.loads((tmp_path / "archbench.json").read_text())
    assert marker["type"] == "lr-find" and marker["title"] == "Learning-rate range test: mlp on digits"
    fig = json.loads((tmp_path / "figures.json").read_text())
    assert fig[0]["file"] == "lr_find.png" and f"{res['suggestion']:.3g}" in fig[0]["caption"]
    assert json.loads((tmp_path / "lr_find.json").read_text())["suggestion"] == res["suggestion"]


def test_suggestion_rules_on_known_curves():
    lrs = list(np.logspace(-6, 0, 121))
    x = np.log10(lrs)
    # a sigmoid drop centred on 1e-3, blowing up past 1e-1: steepest descent near 1e-3
    curve = 2.3 - 2.0 / (1 + np.exp(-(x + 3) * 4)) + np.where(x > -1, (x + 1) * 30, 0)
    res = suggest(lrs, list(curve))
    assert res["method"] == "steepest"
    assert abs(math.log10(res["suggestion"]) + 3) < 0.15
    assert res["min_lr"] > res["suggestion"]
    # no descent at all (the loss only rises): min / 10, clamped to the start of the range
    rising = list(np.linspace(1.0, 5.0, 121))
    res = suggest(lrs, rising)
    assert res["method"] == "min/10" and res["suggestion"] == pytest.approx(1e-6)


def test_smoothing_is_bias_corrected():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])


def test_bad_range_is_a_usage_error():
    with pytest.raises(UsageError, match="start < end"):
        lr_find(small(), start=1e-2, end=1e-3)
    with pytest.raises(UsageError, match="at least 10 steps"):
        lr_find(small(), steps=3)
