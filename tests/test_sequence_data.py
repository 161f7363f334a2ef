import pytest
import torch

from archbench.data import dataset_entry, load_data
from archbench.errors import UsageError

TASKS = ["seq-sum", "adding", "first-marked"]


def small(name, seed=0, **kw):
    return load_data(name, seed=seed, **{"n_samples": 400, **kw})


@pytest.mark.parametrize("name", TASKS)
def test_shapes_split_and_kind(name):
    b = small(name, seq_len=37)
    assert b.kind == "sequence" and b.task == "classification"
    assert [len(b.train), len(b.val), len(b.test)] == [280, 60, 60]
    for s in (b.train, b.val, b.test):
        assert s.x.dtype == torch.float32 and s.y.dtype == torch.int64
        assert s.x.shape[1:] == (37, b.input_shape[1]) and s.y.shape == (len(s),)
        assert int(s.y.min()) >= 0 and int(s.y.max()) < b.num_classes
    assert len(b.class_names) == b.num_classes
    assert b.options["seq_len"] == 37


@pytest.mark.parametrize("name", TASKS)
def test_deterministic_for_a_seed_and_different_for_another(name):
    a, b, c = small(name, seed=3), small(name, seed=3), small(name, seed=4)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    assert not torch.equal(a.train.x, c.train.x)


@pytest.mark.parametrize("name", TASKS)
def test_labels_roughly_balanced(name):
    b = load_data(name, n_samples=2000, seq_len=20)
    y = torch.cat([b.train.y, b.val.y, b.test.y])
    share = torch.bincount(y, minlength=b.num_classes).float() / len(y)
    assert (share - 1.0 / b.num_classes).abs().max() < 0.05


@pytest.mark.parametrize("name", TASKS)
def test_seq_len_200_works(name):
    b = small(name, seq_len=200)
    assert b.train.x.shape[1] == 200 and b.input_shape[0] == 200


def test_seq_sum_label_is_the_sign_of_the_sum():
    b = small("seq-sum", n_features=3)
    assert b.input_shape == (50, 3)  # the notebook's default length
    assert torch.equal(b.train.y, (b.train.x.sum(dim=(1, 2)) > 0).long())


def test_adding_marks_two_steps_one_per_half_and_labels_their_sum():
    b = small("adding", seq_len=30)
    x = b.train.x
    marker = x[:, :, 1]
    assert torch.equal(marker.sum(1), torch.full((len(x),), 2.0))
    assert bool((marker[:, :15].sum(1) == 1).all())
    total = (x[:, :, 0] * marker).sum(1)
    assert torch.equal(b.train.y, (total > 1.0).long())


def test_first_marked_shows_the_label_at_step_0_only():
    b = small("first-marked", seq_len=25, n_tokens=5)
    x, y = b.train.x, b.train.y
    assert b.num_classes == 5 and x.shape[2] == 6
    assert torch.equal(x[:, 0, :5].argmax(1), y)
    assert bool((x[:, 0, 5] == 1).all()) and bool((x[:, 1:, 5] == 0).all())
    assert x[:, 1:, :5].std() > 0.5  # noise after the token


def test_options_are_listed_and_bad_values_rejected():
    assert set(dataset_entry("adding").options()) >= {"n_samples", "seq_len", "n_features"}
    with pytest.raises(UsageError):
        load_data("adding", seq_len=1)
    with pytest.raises(UsageError):
        load_data("first-marked", n_features=2)
    with pytest.raises(UsageError):
        load_data("seq-sum", bogus=1)
