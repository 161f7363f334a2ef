import numpy as np
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


def test_seq_sum_notebook_draw_is_the_notebooks_data_and_split():
    """draw=notebook: torch.manual_seed(42); randn(5000, 50, 1); train_test_split(random_state=42) twice,
    as the notebook's cells do (checked against the notebook's own code, which needs seaborn to run)."""
    from sklearn.model_selection import train_test_split

    b = load_data("seq-sum", seed=7, draw="notebook")
    with torch.random.fork_rng():  # the notebook seeds the global generator; the other tests keep theirs
        torch.manual_seed(42)
        x = torch.randn(5000, 50, 1)
    y = (x.sum(dim=(1, 2)) > 0).long()
    x_tr, x_tmp, y_tr, y_tmp = train_test_split(x, y, test_size=0.3, random_state=42)
    x_va, x_te, y_va, y_te = train_test_split(x_tmp, y_tmp, test_size=0.5, random_state=42)
    for split, xs, ys in ((b.train, x_tr, y_tr), (b.val, x_va, y_va), (b.test, x_te, y_te)):
        assert torch.equal(split.x, xs) and torch.equal(split.y, ys)
    assert b.options["draw"] == "notebook"
    assert torch.equal(load_data("seq-sum", seed=0, draw="notebook").test.x, b.test.x)  # the seed is unused


@pytest.mark.parametrize("n", [10, 101, 999, 5000, 12345])
def test_notebook_split_is_train_test_split_twice(n):
    """The notebook draw does not import scikit-learn; its split must still be scikit-learn's."""
    from sklearn.model_selection import train_test_split

    from archbench.data.sequences import notebook_split

    tr, rest = train_test_split(np.arange(n), test_size=0.3, random_state=42)
    va, te = train_test_split(rest, test_size=0.5, random_state=42)
    for got, want in zip(notebook_split(n), (tr, va, te)):
        assert np.array_equal(got.numpy(), want)


def test_seq_sum_unknown_draw_is_a_usage_error():
    with pytest.raises(UsageError, match="draw"):
        load_data("seq-sum", draw="mine")
