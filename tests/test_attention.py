"""Attention from scratch equals torch's, with the same weights (float64), and keeps its weights."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from archbench.models import build_model
from archbench.models.attention import (
    AttentionPooling,
    MultiHeadAttention,
    capture_attention,
    scaled_dot_product_attention,
)

D = torch.float64


def qkv(lq=5, lk=7, d=8, dv=6):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(2, 3, n, m, generator=g, dtype=D, requires_grad=True) for n, m in ((lq, d), (lk, d), (lk, dv))]


@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal"])
def test_sdpa_matches_torch_outputs_and_gradients(mask_kind):
    q, k, v = qkv(lq=7)
    mask = None
    if mask_kind == "bool":
        mask = torch.rand(7, 7, generator=torch.Generator().manual_seed(1)) > 0.4
        mask[:, 0] = True  # every query keeps a key
    elif mask_kind == "float":
        mask = torch.randn(2, 1, 7, 7, dtype=D)
    elif mask_kind == "causal":
        mask = torch.ones(7, 7, dtype=torch.bool).tril()
    ours, weights = scaled_dot_product_attention(q, k, v, mask)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(ours, theirs, atol=1e-10, rtol=0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 7, dtype=D))
    if mask_kind in ("bool", "causal"):
        assert bool((weights[..., ~mask] == 0).all())  # a blocked key gets exactly nothing
    g_ours = torch.autograd.grad(ours.square().sum(), (q, k, v))
    g_theirs = torch.autograd.grad(theirs.square().sum(), (q, k, v))
    for a, b in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_sdpa_dropout_only_when_training_and_a_fully_blocked_row_is_not_nan():
    q, k, v = qkv()
    a, _ = scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=False)
    assert torch.equal(a, scaled_dot_product_attention(q, k, v)[0])
    torch.manual_seed(0)
    b, w = scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=True)
    assert not torch.allclose(a, b)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5, dtype=D))  # weights are reported before dropout
    mask = torch.ones(5, 7, dtype=torch.bool)
    mask[2] = False
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    assert bool(torch.isfinite(out).all())


def mha_pair(impl, e=16, h=4):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(e, h, batch_first=True).to(D)
    nn.init.normal_(ref.in_proj_bias)  # non-zero biases, so their layout is checked too
    nn.init.normal_(ref.out_proj.bias)
    mine = MultiHeadAttention(e, h, impl=impl).to(D)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


@pytest.mark.parametrize("impl", ["scratch", "fused"])
def test_mha_matches_torch_with_key_padding_mask(impl):
    ref, mine = mha_pair(impl)
    x = torch.randn(3, 6, 16, dtype=D)
    pad = torch.zeros(3, 6, dtype=torch.bool)
    pad[1, 4:] = True
    pad[2, 1:] = True
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    o1, w1 = ref(x1, x1, x1, key_padding_mask=pad, need_weights=True, average_attn_weights=False)
    o2, w2 = mine(x2, key_padding_mask=pad)
    torch.testing.assert_close(o2, o1, atol=1e-5, rtol=0)
    assert w2.shape == (3, 4, 6, 6)
    torch.testing.assert_close(w2, w1, atol=1e-5, rtol=0)
    assert bool((w2[1, :, :, 4:] == 0).all())
    o1.square().sum().backward()
    o2.square().sum().backward()
    for (n, p1), p2 in zip(ref.named_parameters(), mine.parameters()):
        torch.testing.assert_close(p2.grad, p1.grad, atol=1e-5, rtol=0, msg=n)
    torch.testing.assert_close(x2.grad, x1.grad, atol=1e-5, rtol=0)


@pytest.mark.parametrize("impl", ["scratch", "fused"])
def test_mha_attn_mask_and_cross_attention_match_torch(impl):
    ref, mine = mha_pair(impl)
    q, kv = torch.randn(2, 5, 16, dtype=D), torch.randn(2, 7, 16, dtype=D)
    blocked = torch.ones(5, 7, dtype=torch.bool).triu(1)  # nn.MultiheadAttention: True = may not attend
    pad = torch.zeros(2, 7, dtype=torch.bool)
    pad[0, 6] = True
    o1, _ = ref(q, kv, kv, key_padding_mask=pad, attn_mask=blocked)
    o2, _ = mine(q, kv, kv, key_padding_mask=pad, attn_mask=blocked, need_weights=False)
    torch.testing.assert_close(o2, o1, atol=1e-5, rtol=0)
    additive = torch.randn(5, 7, dtype=D)
    pad_f = torch.zeros(2, 7, dtype=D).masked_fill(pad, float("-inf"))  # float masks are added to the scores
    o1, _ = ref(q, kv, kv, key_padding_mask=pad_f, attn_mask=additive)
    o2, _ = mine(q, kv, kv, key_padding_mask=pad_f, attn_mask=additive)
    torch.testing.assert_close(o2, o1, atol=1e-5, rtol=0)


def test_fused_returns_no_weights_unless_asked_and_keeps_them_on_request():
    _, mine = mha_pair("fused")
    x = torch.randn(2, 4, 16, dtype=D)
    out, w = mine(x, need_weights=False)
    assert w is None and mine.last_attention is None
    mine.keep_attention = True
    out2, _ = mine(x, need_weights=False)
    torch.testing.assert_close(out2, out, atol=1e-10, rtol=0)
    assert mine.last_attention.shape == (2, 4, 4, 4) and not mine.last_attention.requires_grad


def test_attention_pooling_ignores_padding_and_keeps_weights():
    torch.manual_seed(0)
    pool = AttentionPooling(8)
    h = torch.randn(2, 5, 8)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    z = pool(h, mask)
    assert z.shape == (2, 8)
    w = pool.last_attention
    assert w.shape == (2, 5) and bool((w[1, 3:] == 0).all())
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    torch.testing.assert_close(pool(h[1:, :3])[0], z[1], atol=1e-6, rtol=0)  # padding changes nothing


@pytest.mark.parametrize("impl", ["fused", "scratch"])
def test_capture_attention_collects_every_block_and_restores_flags(impl):
    meta = {"kind": "sequence", "task": "classification", "input_shape": [12, 1], "num_classes": 2}
    model = build_model("transformer", meta, num_layers=2, num_heads=4, impl=impl).eval()
    x = torch.randn(3, 12, 1)
    with torch.no_grad(), capture_attention(model) as maps:
        out = model(x)
    assert sorted(maps) == ["blocks.0.attn", "blocks.1.attn"]
    for w in maps.values():
        assert w.shape == (3, 4, 13, 13)  # CLS + 12 steps
        torch.testing.assert_close(w.sum(-1), torch.ones(3, 4, 13))
    assert not any(getattr(m, "keep_attention", False) for m in model.modules())
    torch.testing.assert_close(model(x), out, atol=1e-5, rtol=0)  # capturing does not change the outputs

    rnn = build_model("birnn", meta, pooling="attention").eval()
    with torch.no_grad(), capture_attention(rnn) as maps:
        rnn(x)
    assert list(maps) == ["pool_attn"] and maps["pool_attn"].shape == (3, 12)



@pytest.mark.parametrize("mask_kind", ["none", "bool", "float"])
def test_fused_attention_under_cpu_bf16_autocast_is_fp32_attention(mask_kind):
    """On the CPU, bf16 q, k, v are attended in fp32 (torch's bf16 flash backward is many times
    slower there): the output is fp32 attention of the same bf16 inputs, rounded to bf16 once."""
    from archbench.models.attention import fused_attention

    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 9, 8, generator=g).bfloat16().requires_grad_() for _ in range(3))
    mask = {"none": None, "bool": torch.rand(9, 9, generator=g) > 0.3,
            "float": torch.randn(2, 1, 9, 9, generator=g).bfloat16()}[mask_kind]
    if mask_kind == "bool":
        mask[:, 0] = True
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fused_attention(q, k, v, mask)
    assert out.dtype == torch.bfloat16
    q32, k32, v32 = (t.detach().float().requires_grad_() for t in (q, k, v))
    want = F.scaled_dot_product_attention(q32, k32, v32, attn_mask=None if mask is None else
                                          (mask if mask.dtype == torch.bool else mask.float()))
    assert torch.equal(out, want.bfloat16())
    w = torch.randn(out.shape, generator=g)
    (out.float() * w).sum().backward()
    (want * w).sum().backward()
    for ours, ref in ((q, q32), (k, k32), (v, v32)):
        assert ours.grad.dtype == torch.bfloat16
        torch.testing.assert_close(ours.grad.float(), ref.grad, atol=2e-2, rtol=2e-2)
