import math

import pytest
import torch

from archbench.errors import UsageError
from archbench.models import build_model, model_entry
from archbench.models.transformer import PositionalEncoding, positional_encoding

MODELS = ["rnn", "birnn", "lstm", "gru", "lstm-attn", "transformer"]


def seq_meta(t=50, f=1, classes=2, kind="sequence", task="classification"):
    return {"kind": kind, "task": task, "input_shape": [t, f], "num_classes": classes}


TEXT_META = {"kind": "text", "task": "classification", "input_shape": [40], "num_classes": 3, "vocab_size": 30}


def tokens(seed=0):
    """(4, 9) ids with right padding of several lengths, one text empty."""
    x = torch.randint(1, 30, (4, 9), generator=torch.Generator().manual_seed(seed))
    x[1, 5:] = 0
    x[2, 1:] = 0
    x[3, :] = 0
    return x


@pytest.mark.parametrize("name", MODELS)
def test_registered_for_sequence_text_and_forecast(name):
    e = model_entry(name)
    assert set(e.kinds) == {"sequence", "text", "forecast"}
    assert {"sequence", "text", "forecast"} <= set(e.recipe)
    assert e.hparams()["impl"] == "fused"


@pytest.mark.parametrize("name", MODELS)
def test_output_shape_at_any_length(name):
    torch.manual_seed(0)
    model = build_model(name, seq_meta(f=3, classes=4)).eval()
    with torch.no_grad():
        for t in (1, 50, 200, 500):  # whatever length it was built for
            assert model(torch.randn(2, t, 3)).shape == (2, 4)


@pytest.mark.parametrize("name", MODELS)
def test_forecast_head_gives_horizon_values(name):
    model = build_model(name, seq_meta(t=24, f=2, classes=6, kind="forecast", task="regression"))
    assert model(torch.randn(3, 24, 2)).shape == (3, 6)


@pytest.mark.parametrize("impl", ["fused", "scratch"])
@pytest.mark.parametrize("name", MODELS)
def test_text_padding_does_not_change_a_prediction(name, impl):
    torch.manual_seed(0)
    model = build_model(name, TEXT_META, impl=impl, **({} if name == "transformer" else {"embed_dim": 16})).eval()
    x = tokens()
    padded = torch.cat([x, torch.zeros(4, 11, dtype=torch.long)], dim=1)
    with torch.no_grad():
        out, out_padded = model(x), model(padded)
        alone = model(x[1:2, :5])  # text 1 without any padding
    assert out.shape == (4, 3) and bool(torch.isfinite(out).all())
    torch.testing.assert_close(out_padded, out, atol=1e-5, rtol=0)
    torch.testing.assert_close(alone[0], out[1], atol=1e-5, rtol=0)


@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
def test_every_pooling_of_a_bidirectional_model_ignores_padding(pooling):
    torch.manual_seed(0)
    model = build_model("birnn", TEXT_META, pooling=pooling, hidden_size=8, embed_dim=8).eval()
    x = tokens(1)
    with torch.no_grad():
        torch.testing.assert_close(model(torch.cat([x, torch.zeros(4, 5, dtype=torch.long)], 1)), model(x),
                                   atol=1e-5, rtol=0)


@pytest.mark.parametrize("meta,x", [(seq_meta(t=20, f=2), torch.randn(3, 20, 2)), (TEXT_META, tokens(2))])
def test_lstm_attn_last_pooling_attends_from_the_last_step_only(meta, x):
    """With "last" pooling lstm-attn computes the one query that reaches the head; the whole map
    (what capture_attention asks for) gives the same outputs and gradients."""
    torch.manual_seed(0)
    kw = {} if meta["kind"] == "sequence" else {"embed_dim": 16}
    model = build_model("lstm-attn", meta, pooling="last", dropout=0.0, **kw)
    results = []
    for whole in (False, True):
        model.attn.keep_attention = whole
        model.zero_grad()
        out = model(x)
        out.square().sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    (fast, fast_grads), (full, full_grads) = results
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=1e-5)
    for g_fast, g_full in zip(fast_grads, full_grads):
        torch.testing.assert_close(g_fast, g_full, atol=1e-5, rtol=1e-4)
    assert model.attn.last_attention.shape[-2:] == (x.shape[1], x.shape[1])


@pytest.mark.parametrize("name", MODELS)
def test_scratch_and_fused_share_weights_and_outputs(name):
    torch.manual_seed(0)
    fused = build_model(name, seq_meta(t=20, f=2), impl="fused").eval()
    scratch = build_model(name, seq_meta(t=20, f=2), impl="scratch").eval()
    scratch.load_state_dict(fused.state_dict())
    x = torch.randn(3, 20, 2)
    with torch.no_grad():
        torch.testing.assert_close(scratch(x), fused(x), atol=1e-5, rtol=1e-5)


def test_bad_hyperparameters_are_usage_errors():
    with pytest.raises(UsageError, match="pooling"):
        build_model("lstm", seq_meta(), pooling="max")
    with pytest.raises(UsageError, match="impl"):
        build_model("gru", seq_meta(), impl="cuda")
    with pytest.raises(UsageError, match="norm"):
        build_model("transformer", seq_meta(), norm="sandwich")


def test_lstm_and_gru_start_with_long_memories():
    torch.manual_seed(0)
    lstm = build_model("lstm", seq_meta(t=200), hidden_size=16)
    b_f = (lstm.rnn.bias_ih_l0[16:32] + lstm.rnn.bias_hh_l0[16:32]).detach()
    assert float(b_f.min()) >= 0.0 and float(b_f.max()) <= math.log(199) + 1e-6 and float(b_f.max()) > 2.0
    torch.testing.assert_close(lstm.rnn.bias_ih_l0[:16].detach(), -b_f)
    gru = build_model("gru", seq_meta(t=200), hidden_size=16)
    assert float(gru.rnn.bias_ih_l1[16:32].detach().mean()) > 2.0


def test_positional_encoding_matches_its_formula_at_length_1000():
    pe = positional_encoding(1000, 10)
    assert pe.shape == (1000, 10)
    for pos in (0, 1, 57, 999):
        for i in range(5):
            angle = pos / 10000 ** (2 * i / 10)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert positional_encoding(3, 7).shape == (3, 7)  # odd width


def test_positional_encoding_module_grows_past_any_max_len():
    pe = PositionalEncoding(8)
    assert pe(torch.zeros(1, 5, 8)).shape == (1, 5, 8)
    out = pe(torch.zeros(2, 1000, 8))
    torch.testing.assert_close(out[0], positional_encoding(1000, 8))
    assert "pe" not in "".join(pe.state_dict())  # nothing length-dependent is saved
    model = build_model("transformer", seq_meta(t=100)).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1001, 1)).shape == (1, 2)  # the notebook's max_len=100 would fail here
