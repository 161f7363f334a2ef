"""resnet-small: sized from meta, trains."""
import pytest
import torch
import torch.nn.functional as F

from archbench.models import build_model, model_entry


@pytest.fixture(autouse=True)
def one_thread():
    # tiny convolutions: a second OpenMP thread only adds contention on a busy CI machine
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def meta(shape, classes=10):
    return {"kind": "image", "task": "classification", "input_shape": list(shape), "num_classes": classes}


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8)])
def test_output_shape(shape):
    m = build_model("resnet-small", meta(shape), widths=[16, 32, 32])
    assert m(torch.randn(2, *shape)).shape == (2, 10)


def test_default_size_and_recipe():
    m = build_model("resnet-small", meta((3, 32, 32)))
    assert 2_000_000 < sum(p.numel() for p in m.parameters()) < 5_000_000
    entry = model_entry("resnet-small")
    r = entry.recipe_for("mnist", "image")
    assert r["label_smoothing"] == 0.2 and r["augment"] == "basic" and r["batch_size"] >= 256
    r = entry.recipe_for("folder:x.tar", "image")  # the data set's refinement wins
    assert r["augment"] == "strong" and r["epochs"] >= 30 and r["optimizer"] == "nesterov"


def test_fits_a_tiny_batch():
    torch.manual_seed(0)
    m = build_model("resnet-small", meta((3, 16, 16), 4), widths=[16, 32, 32])
    x, y = torch.randn(16, 3, 16, 16), torch.arange(16) % 4
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    m.eval()
    assert (m(x).argmax(1) == y).float().mean() > 0.9


def test_channels_last_and_bf16_autocast_agree():
    m = build_model("resnet-small", meta((3, 32, 32)), widths=[16, 32, 32]).eval()
    x = torch.randn(4, 3, 32, 32)
    ref = m(x)
    cl = m.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(ref, cl, atol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = m(x)
    assert torch.allclose(ref, low.float(), atol=0.1)


def test_flip_averaging_only_at_evaluation():
    torch.manual_seed(0)
    m = build_model("resnet-small", meta((3, 16, 16)), widths=[8, 16, 16], tta="flip")
    x = torch.randn(3, 3, 16, 16)
    m.eval()
    plain = build_model("resnet-small", meta((3, 16, 16)), widths=[8, 16, 16])
    plain.load_state_dict(m.state_dict())
    plain.eval()
    with torch.no_grad():
        want = 0.5 * (plain(x) + plain(x.flip(-1)))
        assert torch.allclose(m(x), want, atol=1e-5)
        assert not torch.allclose(plain(x), want, atol=1e-3)  # the mirror view changes the logits
    m.train(); plain.train()
    torch.manual_seed(1); a = m(x)
    torch.manual_seed(1); b = plain(x)
    assert torch.allclose(a, b, atol=1e-5)  # training sees single images, as before
    assert model_entry("resnet-small").recipe_for("cifar10", "image")["tta"] == "flip"
    with pytest.raises(Exception, match="tta"):
        build_model("resnet-small", meta((3, 16, 16)), tta="rotate")
