"""The classification report (precision, recall, F1 per class), as text and as a table.

Computed from the confusion matrix here rather than by scikit-learn: importing ``sklearn.metrics``
costs start-up time in every process that trains (docs/measurements.md). The text and the table are laid out as
``sklearn.metrics.classification_report(..., digits=4, zero_division=0)`` lays them out
(tests/test_report_text.py compares the two), so they read like the reports people know.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np

from .history import confusion_matrix

HEADERS = ("precision", "recall", "f1-score", "support")


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (scikit-learn's zero_division=0)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def classification_report_text(targets, predictions, class_names: Sequence[str],
                               digits: int = 4) -> Tuple[str, Dict]:
    """targets, predictions (N,) class indices -> (report text, {class: {precision, recall, f1-score,
    support}, "accuracy": float, "macro avg": {...}, "weighted avg": {...}})."""
    names = [str(c) for c in class_names]
    cm = confusion_matrix(targets, predictions, len(names))
    tp = np.diag(cm)
    support, predicted = cm.sum(1), cm.sum(0)
    precision, recall = _divide(tp, predicted), _divide(tp, support)
    f1 = _divide(2 * tp, support + predicted)
    total = int(support.sum())
    accuracy = float(_divide(tp.sum(), total))
    weights = support if total else None  # no examples at all: plain means, all zero
    averages = {
        "macro avg": [float(np.mean(v)) for v in (precision, recall, f1)] + [total],
        "weighted avg": [float(np.average(v, weights=weights)) for v in (precision, recall, f1)] + [total],
    }

    def entry(p, r, f, s):  # support is a count: an int, not 39.0
        return dict(zip(HEADERS, (float(p), float(r), float(f), int(s))))

    table: Dict = {n: entry(*row) for n, *row in zip(names, precision, recall, f1, support)}
    table["accuracy"] = accuracy
    table.update({k: entry(*v) for k, v in averages.items()})

    width = max(max(len(n) for n in names), len("weighted avg"), digits)
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    text = ("{:>{width}s} " + " {:>9}" * 4).format("", *HEADERS, width=width) + "\n\n"
    for n, p, r, f, s in zip(names, precision, recall, f1, support):
        text += row.format(n, p, r, f, int(s), width=width, digits=digits)
    text += "\n" + ("{:>{width}s} " + " {:>9}" * 2 + " {:>9.{digits}f} {:>9}\n").format(
        "accuracy", "", "", accuracy, total, width=width, digits=digits)
    for k, v in averages.items():
        text += row.format(k, *v, width=width, digits=digits)
    return text, table
