"""The from-scratch RNN/LSTM/GRU compute what torch's do, with the same weights (float64)."""
import pytest
import torch
import torch.nn as nn

from archbench.models import cells

CASES = [(cell, layers, bi) for cell in ("rnn", "lstm", "gru") for layers, bi in ((1, False), (2, False), (2, True))]


def pair(cell, layers, bi, **kw):
    torch.manual_seed(0)
    ref = cells.FUSED[cell](3, 6, num_layers=layers, batch_first=True, bidirectional=bi, **kw).double()
    mine = cells.SCRATCH[cell](3, 6, num_layers=layers, bidirectional=bi, **kw).double()
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in ref.named_parameters()]
    mine.load_state_dict(ref.state_dict())  # same names and layouts: torch's weights load as they are
    return ref, mine


def grads(module):
    return [p.grad.clone() for p in module.parameters()]


@pytest.mark.parametrize("cell,layers,bi", CASES)
def test_outputs_states_and_gradients_equal_torch(cell, layers, bi):
    ref, mine = pair(cell, layers, bi)
    x = torch.randn(4, 9, 3, dtype=torch.float64)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    (o1, s1), (o2, s2) = ref(x1), mine(x2)
    s1, s2 = (s1 if cell == "lstm" else (s1,)), (s2 if cell == "lstm" else (s2,))  # (h_n[, c_n])
    torch.testing.assert_close(o2, o1, atol=1e-5, rtol=0)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=0)
    w = torch.randn_like(o1)  # a loss that weighs every output and final state differently
    ((o1 * w).sum() + sum(s.square().sum() for s in s1)).backward()
    ((o2 * w).sum() + sum(s.square().sum() for s in s2)).backward()
    for g1, g2 in zip(grads(ref), grads(mine)):
        torch.testing.assert_close(g2, g1, atol=1e-5, rtol=0)
    torch.testing.assert_close(x2.grad, x1.grad, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padded_batch_matches_packed_torch(cell):
    ref, mine = pair(cell, 2, True)
    x = torch.randn(4, 8, 3, dtype=torch.float64)
    lengths = torch.tensor([8, 3, 5, 1])
    o1, o2 = cells.run_recurrent(ref, x, lengths), cells.run_recurrent(mine, x, lengths)
    torch.testing.assert_close(o2, o1, atol=1e-5, rtol=0)
    assert bool((o2[1, 3:] == 0).all())  # nothing past a sequence's end
    o1.square().sum().backward()
    o2.square().sum().backward()
    for g1, g2 in zip(grads(ref), grads(mine)):
        torch.testing.assert_close(g2, g1, atol=1e-5, rtol=0)
    # a sequence's outputs do not depend on the padding after it
    alone = cells.run_recurrent(mine, x[1:2, :3], lengths[1:2])
    torch.testing.assert_close(o2[1:2, :3], alone, atol=1e-10, rtol=0)


def test_relu_rnn_and_initial_state():
    ref, mine = pair("rnn", 2, False, nonlinearity="relu")
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    h0 = torch.randn(2, 2, 6, dtype=torch.float64)
    torch.testing.assert_close(mine(x, h0)[0], ref(x, h0)[0], atol=1e-10, rtol=0)


def test_dropout_between_layers_only_in_training():
    _, mine = pair("lstm", 2, False, dropout=0.5)
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    mine.eval()
    assert torch.equal(mine(x)[0], mine(x)[0])
    mine.train()
    assert not torch.equal(mine(x)[0], mine(x)[0])


def test_make_recurrent_builds_either_impl_with_the_same_state_dict_keys():
    fused = cells.make_recurrent("gru", "fused", 3, 8, num_layers=2, dropout=0.1)
    scratch = cells.make_recurrent("gru", "scratch", 3, 8, num_layers=2, dropout=0.1)
    assert isinstance(fused, nn.GRU) and isinstance(scratch, cells.GRU)
    scratch.load_state_dict(fused.state_dict())
    x = torch.randn(2, 4, 3)
    torch.testing.assert_close(cells.run_recurrent(scratch.eval(), x), cells.run_recurrent(fused.eval(), x),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell,layers,bi", [c for c in CASES if c[0] != "lstm"])
def test_cpu_scan_equals_torch_outputs_and_gradients(cell, layers, bi):
    """run_recurrent sends torch's CPU RNN/GRU through scan.py's written-out backward: same numbers as
    torch's own module call, outputs and every gradient."""
    torch.manual_seed(0)
    ref = cells.FUSED[cell](3, 6, num_layers=layers, batch_first=True, bidirectional=bi).double()
    x = torch.randn(4, 9, 3, dtype=torch.float64)
    assert cells.scan_applies(ref, x, None)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    o1, o2 = ref(x1)[0], cells.run_recurrent(ref, x2)
    torch.testing.assert_close(o2, o1, atol=1e-10, rtol=0)
    w = torch.randn_like(o1)
    g1 = torch.autograd.grad((o1 * w).sum(), [x1, *ref.parameters()])
    g2 = torch.autograd.grad((o2 * w).sum(), [x2, *ref.parameters()])
    for a, b in zip(g1, g2):
        torch.testing.assert_close(b, a, atol=1e-10, rtol=0)
    with torch.inference_mode():
        torch.testing.assert_close(cells.run_recurrent(ref, x), o1.detach(), atol=1e-10, rtol=0)


def test_cpu_scan_dropout_between_layers_as_torch():
    torch.manual_seed(0)
    ref = nn.GRU(3, 6, num_layers=2, batch_first=True, dropout=0.5).double().train()
    x = torch.randn(4, 9, 3, dtype=torch.float64)
    torch.manual_seed(1)
    a = cells.run_recurrent(ref, x)
    torch.manual_seed(1)
    b = cells.run_recurrent(ref, x)
    torch.testing.assert_close(a, b)  # one mask per seed
    assert not torch.allclose(a, cells.run_recurrent(ref.eval(), x))  # a mask was applied in training only
    torch.testing.assert_close(cells.run_recurrent(ref.eval(), x), ref(x)[0], atol=1e-10, rtol=0)


def test_cpu_scan_is_only_used_where_it_applies():
    x = torch.randn(2, 5, 3)
    assert not cells.scan_applies(nn.LSTM(3, 4, batch_first=True), x, None)  # oneDNN's LSTM is faster
    assert not cells.scan_applies(nn.RNN(3, 4, batch_first=True, nonlinearity="relu"), x, None)
    assert not cells.scan_applies(nn.GRU(3, 4, batch_first=True), x, torch.tensor([5, 3]))  # padded: packed
    assert not cells.scan_applies(nn.GRU(3, 4, batch_first=True), x.bfloat16(), None)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not cells.scan_applies(nn.GRU(3, 4, batch_first=True), x, None)
