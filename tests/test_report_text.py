"""archbench's classification report reads as scikit-learn's does, without importing it in every run."""
import numpy as np
import pytest

from archbench.viz.report_text import classification_report_text

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def sklearn_report(t, p, names):
    kw = dict(labels=list(range(len(names))), target_names=names, zero_division=0)
    return (sklearn_metrics.classification_report(t, p, digits=4, **kw),
            sklearn_metrics.classification_report(t, p, output_dict=True, **kw))


@pytest.mark.parametrize("n_classes,n,accuracy", [(2, 750, 0.99), (10, 1000, 0.7), (5, 40, 0.3)])
def test_same_text_and_table_as_sklearn(n_classes, n, accuracy):
    rng = np.random.default_rng(n_classes)
    t = rng.integers(0, n_classes, n)
    p = np.where(rng.random(n) < accuracy, t, rng.integers(0, n_classes, n))
    names = [f"class {i}" for i in range(n_classes)]
    text, table = classification_report_text(t, p, names)
    want_text, want_table = sklearn_report(t, p, names)
    assert text == want_text
    assert list(table) == list(want_table)
    for key, want in want_table.items():  # a dict of four scores, or the accuracy
        assert table[key] == pytest.approx(want, rel=1e-12, abs=0)


def test_a_class_never_seen_or_never_predicted_scores_zero_as_sklearn_does():
    t = np.array([0, 0, 1, 1, 1])
    p = np.array([0, 1, 1, 1, 0])  # class 2 is neither a target nor a prediction; a long name widens the column
    names = ["a", "b", "a rather long class name"]
    text, table = classification_report_text(t, p, names)
    want_text, want_table = sklearn_report(t, p, names)
    assert text == want_text
    assert table["a rather long class name"] == {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0.0}
    assert table["macro avg"] == pytest.approx(want_table["macro avg"], rel=1e-12, abs=0)
    assert table["accuracy"] == pytest.approx(0.6)
