"""Training options (loss, L1 penalty, scheduler parameters, plain momentum vs Nesterov, recurrent
initialisation): each changes what it claims, checked against a hand computation of one step."""
import pytest
import torch
import torch.nn as nn

from archbench.config import TrainConfig
from archbench.data.base import DataBundle, Split
from archbench.errors import UsageError
from archbench.models import build_model, model_entry
from archbench.train import options
from archbench.train.loop import Trainer
from archbench.train.optim import build_optimizer, build_scheduler
from archbench.train.runtime import Runtime

B, F_IN, C = 6, 3, 2
LR = 0.1


def bundle(regression=False):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, F_IN, generator=g)
    y = torch.randn(B, C, generator=g) * 2 if regression else torch.tensor([0, 1, 1, 0, 1, 0])
    s = Split(x, y)
    return DataBundle("toy", "forecast" if regression else "sequence", s, s, s, input_shape=(F_IN,), num_classes=C,
                      task="regression" if regression else "classification")


def one_step(regression=False, **cfg_kw):
    """(weight, bias) before and after one plain-SGD step of the Trainer on the whole toy batch."""
    torch.manual_seed(0)
    model = nn.Linear(F_IN, C)
    before = model.weight.detach().clone(), model.bias.detach().clone()
    kw = dict(model="mlp", data="toy", epochs=1, batch_size=B, lr=LR, optimizer="sgd", weight_decay=0.0,
              scheduler="none", patience=0, label_smoothing=0.0, augment="none", loss="auto", device="cpu",
              precision="fp32", progress="none")
    cfg = TrainConfig(**{**kw, **cfg_kw})
    b = bundle(regression)
    t = Trainer(model, b, cfg, Runtime(device=torch.device("cpu"), precision="fp32"), log=lambda s: None)
    t._acc_loss, t._acc_hit, t._acc_n = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.float64), 0
    t.train_step(torch.arange(B))
    return before, (model.weight.detach(), model.bias.detach()), b


def expected(before, b, dlogits):
    """SGD step by hand: dL/dW = dlogits^T x, dL/db = sum dlogits."""
    w, bias = before
    return w - LR * dlogits.T @ b.train.x, bias - LR * dlogits.sum(0)


def logits(before, b):
    return b.train.x @ before[0].T + before[1]


@pytest.mark.parametrize("loss", ["auto", "cross-entropy", "bce"])
def test_classification_losses_step_as_computed_by_hand(loss):
    before, after, b = one_step(loss=loss)
    z = logits(before, b)
    onehot = torch.nn.functional.one_hot(b.train.y, C).float()
    if loss == "bce":
        d = (torch.sigmoid(z) - onehot) / (B * C)  # mean over B x C independent yes/no outputs
    else:
        d = (torch.softmax(z, 1) - onehot) / B
    w, bias = expected(before, b, d)
    assert torch.allclose(after[0], w, atol=1e-6) and torch.allclose(after[1], bias, atol=1e-6)


@pytest.mark.parametrize("loss", ["auto", "mse", "l1", "huber"])
def test_forecast_losses_step_as_computed_by_hand(loss):
    before, after, b = one_step(regression=True, loss=loss, huber_delta=1.0)
    err = logits(before, b) - b.train.y
    d = {"auto": 2 * err, "mse": 2 * err, "l1": err.sign(), "huber": err.clamp(-1.0, 1.0)}[loss] / (B * C)
    assert err.abs().max() > 1.0 and err.abs().min() < 1.0  # huber's both regimes are exercised
    w, bias = expected(before, b, d)
    assert torch.allclose(after[0], w, atol=1e-6) and torch.allclose(after[1], bias, atol=1e-6)


def test_l1_penalty_adds_lambda_sign_w_to_weights_only():
    base_before, base_after, _ = one_step()
    before, after, _ = one_step(l1_penalty=0.3)
    assert torch.equal(before[0], base_before[0])
    assert torch.allclose(after[0], base_after[0] - LR * 0.3 * before[0].sign(), atol=1e-6)
    assert torch.allclose(after[1], base_after[1], atol=1e-7)  # biases are not penalised


def test_a_loss_that_does_not_fit_the_task_is_a_usage_error():
    with pytest.raises(UsageError, match="does not fit a classification"):
        one_step(loss="mse")
    with pytest.raises(UsageError, match="does not fit a forecast"):
        one_step(regression=True, loss="bce")
    with pytest.raises(UsageError, match="unknown loss"):
        options.build_loss("hinge", False)


def two_steps(name):
    p = nn.Parameter(torch.tensor([1.0, -2.0]))
    g = torch.tensor([0.5, 1.0])
    opt = build_optimizer(name, [p], lr=LR, momentum=0.9)
    seen = []
    for _ in range(2):
        p.grad = g.clone()
        opt.step()
        seen.append(p.detach().clone())
    return torch.tensor([1.0, -2.0]), g, seen


def test_momentum_is_plain_and_nesterov_looks_ahead():
    w0, g, (w1, w2) = two_steps("momentum")
    assert torch.allclose(w1, w0 - LR * g) and torch.allclose(w2, w1 - LR * 1.9 * g)  # v = 0.9 v + g
    w0, g, (w1, w2) = two_steps("nesterov")
    # update g + 0.9 v: 1.9 g, then v = 1.9 g so g + 0.9 * 1.9 g = 2.71 g
    assert torch.allclose(w1, w0 - LR * 1.9 * g) and torch.allclose(w2, w1 - LR * 2.71 * g)


def test_old_momentum_configs_are_warned_once_and_resnet_keeps_nesterov(capsys):
    options._warned.clear()
    options.warn_old_momentum("adam")
    options.warn_old_momentum("momentum")
    options.warn_old_momentum("momentum")
    err = capsys.readouterr().err
    assert err.count("plain SGD momentum") == 1 and "nesterov" in err
    assert model_entry("resnet-small").recipe_for("cifar10", "image")["optimizer"] == "nesterov"


def lrs(name, epochs, steps, per="epoch", **kw):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched, when = build_scheduler(name, opt, epochs, steps, 1.0, **kw)
    out = []
    for e in range(epochs):
        for _ in range(steps):
            opt.step()
            if when == "batch":
                sched.step()
        if when == "epoch":
            sched.step()
        elif when == "plateau":
            sched.step(1.0)  # never improves
        out.append(opt.param_groups[0]["lr"])
    return when, out


def test_scheduler_parameters_change_the_schedule_and_default_to_the_old_one():
    assert lrs("step", 9, 1)[1] == pytest.approx([1, 1, .1, .1, .1, .01, .01, .01, .001])  # old: every 3, x0.1
    assert lrs("step", 6, 1, step_size=2, gamma=0.5)[1] == pytest.approx([1, .5, .5, .25, .25, .125])
    assert lrs("exponential", 2, 1, gamma=0.5)[1] == pytest.approx([0.5, 0.25])
    # plateau: the first epoch sets the best; with patience 1 the third without improvement cuts
    assert lrs("plateau", 4, 1, plateau_patience=1, plateau_factor=0.2)[1] == pytest.approx([1, 1, .2, .2])
    assert lrs("plateau", 5, 1)[1] == pytest.approx([1, 1, 1, 1, .5])  # old: patience 3, x0.5
    _, cos = lrs("cosine", 4, 5, cosine_period=2)
    assert cos[1] == pytest.approx(0.0, abs=1e-9)  # one half-cosine over 2 epochs ends at 0
    assert lrs("cosine", 4, 5)[1][1] == pytest.approx(0.5)  # old: over all 4 epochs, halfway
    _, restart = lrs("cosine-restarts", 4, 5, cosine_period=1)
    assert restart == pytest.approx([1.0] * 4)  # restarts at every epoch boundary


def meta(t=30):
    return {"kind": "sequence", "task": "classification", "input_shape": [t, 1], "num_classes": 2}


def test_orthogonal_recurrent_init_and_chrono_bias_on_off():
    torch.manual_seed(0)
    m = build_model("lstm", meta(), hidden_size=16, init="orthogonal")
    w = m.rnn.weight_hh_l0
    for block in w.split(16):
        assert torch.allclose(block @ block.T, torch.eye(16), atol=1e-5)
    rnn = build_model("rnn", meta(), hidden_size=16, init="orthogonal").rnn.weight_hh_l1
    assert torch.allclose(rnn @ rnn.T, torch.eye(16), atol=1e-5)
    forget = slice(16, 32)
    on = build_model("lstm", meta(), hidden_size=16).rnn.bias_ih_l0[forget]
    off = build_model("lstm", meta(), hidden_size=16, chrono=False).rnn.bias_ih_l0[forget]
    assert (on >= 0).all() and on.max() > 1.0  # log U(1, T - 1): memories of up to T steps
    assert off.abs().max() <= 1 / 16 ** 0.5 and (off < 0).any()  # torch's U(-1/sqrt(H), 1/sqrt(H))
    gru_off = build_model("gru", meta(), hidden_size=16, chrono=False).rnn.bias_ih_l0[forget]
    assert gru_off.abs().max() <= 0.25
    with pytest.raises(UsageError, match="init"):
        build_model("gru", meta(), init="zeros")
