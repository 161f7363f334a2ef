"""The classification report (precision, recall, F1 per class), as text and as a table."""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np


def classification_report_text(targets, predictions, class_names: Sequence[str]) -> Tuple[str, Dict]:
    from sklearn.metrics import classification_report

    labels = list(range(len(class_names)))
    t, p = np.asarray(targets), np.asarray(predictions)
    text = classification_report(t, p, labels=labels, target_names=list(class_names), digits=4, zero_division=0)
    table = classification_report(t, p, labels=labels, target_names=list(class_names), output_dict=True,
                                  zero_division=0)
    return text, table
