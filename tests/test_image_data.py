"""The digits loader reads scikit-learn's bundled file without importing scikit-learn."""
import numpy as np

from archbench.data import images, load_data


def test_digits_equal_scikit_learns_load_digits():
    from sklearn.datasets import load_digits

    want = load_digits()
    got_images, got_target = images.read_sklearn_digits()
    assert np.array_equal(got_images, want.images) and np.array_equal(got_target, want.target)


def test_digits_fall_back_to_scikit_learn_when_the_file_is_missing(monkeypatch):
    monkeypatch.setattr(images.importlib.util, "find_spec", lambda name: None)
    b = load_data("digits", seed=0)
    assert len(b.train.x) + len(b.val.x) + len(b.test.x) == 1797
    assert b.input_shape == (1, 8, 8) and b.num_classes == 10


def test_digits_split_never_moves_the_test_set():
    a, b = load_data("digits", seed=0), load_data("digits", seed=1)
    assert np.array_equal(a.test.x.numpy(), b.test.x.numpy())
    assert not np.array_equal(a.train.x.numpy(), b.train.x.numpy())
