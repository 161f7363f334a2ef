"""archbench explain: feature maps, filters, the conv/pooling demo, attention and positions of tiny runs."""
import importlib.util
import json

import numpy as np
import pytest
import torch
import torch.nn as nn

from archbench import TrainConfig, train_model
from archbench.errors import CheckpointError, UsageError
from archbench.rundir import load_run
from archbench.viz import explain as explain_mod
from archbench.viz.explain import write_explain
from archbench.viz.explain_compute import attention_maps
from archbench.viz.explain_images import conv_pooling_demo, feature_maps

HAS_TRANSFORMER = importlib.util.find_spec("archbench.models.transformer") is not None


def _train(tmp_path_factory, name, model, data, model_args=None, data_args=None, epochs=1):
    out = tmp_path_factory.mktemp(name) / "run"
    cfg = TrainConfig(model=model, data=data, epochs=epochs, progress="none", threads=1, out=str(out),
                      model_args=model_args or {}, data_args=data_args or {})
    train_model(cfg, {"augment": "none"})
    return out


def _figures_exist(out):
    figures = json.loads((out / "figures.json").read_text())
    assert figures, "figures.json lists no figure"
    for f in figures:
        assert (out / f["file"]).is_file(), f"figures.json lists missing {f['file']}"
        assert f["title"] and f["caption"]
    return {f["file"] for f in figures}


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    return _train(tmp_path_factory, "cnn", "cnn", "digits", model_args={"channels": [8, 16, 24]})


@pytest.fixture(scope="module")
def cnn_explained(cnn_run):
    return write_explain(cnn_run, n_examples=4, seed=1)


def test_feature_maps_match_every_conv_layer(cnn_run):
    model, bundle, _ = load_run(cnn_run)
    convs = {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    x = bundle.preprocess(bundle.test.x[:5])
    maps = feature_maps(model, x)
    assert list(maps) == list(convs) and len(maps) == 3
    size = x.shape[-1]
    for name, m in maps.items():
        assert m.shape == (5, convs[name].out_channels, size, size)
        size //= 2  # each block pools by 2 after its conv
    assert all(not m._forward_hooks for m in convs.values()), "hooks must be removed"
    # the first layer's maps are the convolution of the input with its filters
    first = next(iter(convs.values()))
    assert torch.allclose(maps[next(iter(maps))], first(x), atol=1e-5)


def test_explain_cnn_writes_filters_feature_maps_and_listed_figures(cnn_explained, cnn_run):
    out = cnn_explained
    assert out == cnn_run / "explain"
    files = _figures_exist(out)
    assert {"filters.png", "conv_pooling_demo.png", "confidently_wrong.png"} <= files
    assert {f"feature_maps_conv_blocks_{i}_0.png" for i in range(3)} <= files
    meta = json.loads((out / "archbench.json").read_text())
    assert meta["type"] == "explain" and meta["title"] == "What cnn learned on digits"
    assert "conv" in meta["sections"]
    md = (out / "explain.md").read_text()
    # the summary table: every conv layer, with as many maps drawn as it has channels (all <= 64 here)
    for name, channels in (("conv_blocks.0.0", 8), ("conv_blocks.1.0", 16), ("conv_blocks.2.0", 24)):
        row = next(line for line in md.splitlines() if line.startswith(f"| {name} |"))
        assert row.split("|")[4].strip() == str(channels)
    assert (out / "augmentation.png").is_file() == ("augmentation.png" in files)


def test_strongest_channels_caps_the_grid():
    from archbench.viz.explain_images import strongest_channels

    maps = torch.zeros(2, 100, 3, 3)
    maps[:, 7] = 5.0
    maps[:, 93] = -9.0
    picked = strongest_channels(maps, cap=10)
    assert len(picked) == 10 and {7, 93} <= set(picked.tolist())
    assert picked.tolist() == sorted(picked.tolist())
    assert len(strongest_channels(maps[:, :20], cap=64)) == 20


def test_conv_demo_edges_have_the_expected_signs():
    d = conv_pooling_demo()
    h, v = d["horizontal"], d["vertical"]
    assert h.shape == (8, 8)
    # the filter weighs the row below +1 and the row above -1: dark-to-bright going down is positive
    assert (h[1:3, 2:6] > 0).all() and (h[5:7, 2:6] < 0).all()  # top edge of the square / bottom edge
    assert (h[3:5] == 0).all() and (h[0] == 0).all() and (h[7] == 0).all()  # inside and far outside
    assert (h[:, 0] == 0).all() and (h[:, 7] == 0).all()
    assert float(h[1, 3]) == 3.0 and float(h[6, 3]) == -3.0
    assert torch.equal(v, h.t())  # the vertical filter is the transpose, so is its answer on a square
    assert d["max"].tolist() == [[6, 8], [14, 16]]
    assert d["avg"].tolist() == [[3.5, 5.5], [11.5, 13.5]]


def test_confidently_wrong_orders_mistakes_by_confidence():
    from archbench.viz.explain_images import confidently_wrong

    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.05, 0.95], [0.7, 0.3]])
    y = torch.tensor([0, 0, 0, 0, 1])
    assert confidently_wrong(probs, y, 3).tolist() == [3, 1, 4]
    assert confidently_wrong(probs, y, 10).tolist() == [3, 1, 4, 2]


def test_explain_rejects_a_directory_that_is_not_a_run(tmp_path, cnn_explained):
    with pytest.raises(CheckpointError):
        write_explain(tmp_path)
    with pytest.raises(CheckpointError):  # an explain directory is an archbench directory, not a run
        write_explain(cnn_explained)
    with pytest.raises(CheckpointError):
        write_explain(tmp_path / "missing")


def test_explain_mlp_on_images_and_unsupported_models(tmp_path_factory):
    run = _train(tmp_path_factory, "mlp", "mlp", "digits", model_args={"hidden_sizes": [32]})
    out = write_explain(run, out_dir=run / "why", n_examples=3)
    files = _figures_exist(out)
    assert {"first_layer_weights.png", "confidently_wrong.png"} <= files
    assert not any(f.startswith("feature_maps") for f in files)
    seq = _train(tmp_path_factory, "mlpseq", "mlp", "seq-sum", model_args={"hidden_sizes": [8]},
                 data_args={"n_samples": 200, "seq_len": 6})
    with pytest.raises(UsageError, match="supports"):
        write_explain(seq)
    assert not (seq / "explain").exists()


@pytest.mark.skipif(not HAS_TRANSFORMER, reason="the transformer model is not available")
def test_explain_transformer_positions_and_attention(tmp_path_factory, monkeypatch):
    seq_len, d_model = 10, 16
    run = _train(tmp_path_factory, "tf", "transformer", "seq-sum",
                 model_args={"d_model": d_model, "num_heads": 2, "num_layers": 1, "d_ff": 32},
                 data_args={"n_samples": 300, "seq_len": seq_len})
    drawn = []
    real_plot = explain_mod.plot_positional_encoding

    def spy(pe, *args, **kwargs):
        drawn.append(pe)
        return real_plot(pe, *args, **kwargs)

    monkeypatch.setattr(explain_mod, "plot_positional_encoding", spy)
    out = write_explain(run, n_examples=2)
    files = _figures_exist(out)
    assert "positional_encoding.png" in files and "attention_blocks_0_attn.png" in files
    assert len(drawn) == 1
    pe = drawn[0].double().numpy()
    length = seq_len + 1  # the CLS token takes position 0
    assert pe.shape == (length, d_model)
    pos = np.arange(length)[:, None]
    i2 = np.arange(0, d_model, 2)[None, :]
    angle = pos / 10000 ** (i2 / d_model)
    assert np.allclose(pe[:, 0::2], np.sin(angle), atol=1e-6)
    assert np.allclose(pe[:, 1::2], np.cos(angle), atol=1e-6)

    model, bundle, _ = load_run(run)
    maps, outputs = attention_maps(model, bundle.preprocess(bundle.test.x[:3]))
    assert outputs.shape == (3, 2)
    w = maps["blocks.0.attn"]
    assert w.shape == (3, 2, length, length)
    assert (w >= 0).all() and torch.allclose(w.sum(-1), torch.ones(3, 2, length), atol=1e-5)


@pytest.mark.skipif(importlib.util.find_spec("archbench.models.recurrent") is None, reason="recurrent models missing")
def test_explain_attention_pooling_weights_sum_to_one(tmp_path_factory):
    run = _train(tmp_path_factory, "birnn", "birnn", "seq-sum", model_args={"hidden_size": 8, "num_layers": 1},
                 data_args={"n_samples": 200, "seq_len": 8})
    model, bundle, _ = load_run(run)
    maps, _ = attention_maps(model, bundle.test.x[:4])
    (w,) = maps.values()
    assert w.shape == (4, 8) and torch.allclose(w.sum(-1), torch.ones(4), atol=1e-5)
    out = write_explain(run, n_examples=2)
    files = _figures_exist(out)
    assert "attention_pooling.png" in files
    meta = json.loads((out / "archbench.json").read_text())
    # the gradient study: written into gradients/ when its module exists, else a note that says so
    assert "gradients" in meta["sections"] or any("gradient" in s for s in meta["skipped"])
    if "gradients" in meta["sections"]:
        assert any(f.startswith("gradients/") for f in files)
