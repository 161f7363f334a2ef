"""The figures of one run: training history, confusion matrix, classification report, forecast."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from ..data.base import DataBundle
from ..files import atomic_write_text, write_json
from .forecast import forecast_figure
from .history import plot_confusion, plot_history
from .report_text import classification_report_text
from .show import PREVIEWS, write_preview


def write_run_figures(run_dir: Path, history, test, bundle: DataBundle, model: str = "model",
                      kept_epoch: Optional[int] = None, label_smoothing: float = 0.0) -> List[Dict[str, str]]:
    caption = ("Loss and accuracy per epoch. Validation loss rising while training loss falls is overfitting; "
               "the marker shows the epoch whose weights were kept.")
    if label_smoothing:
        caption += (f" Training loss is against targets smoothed by {label_smoothing:g} (label smoothing), "
                    "validation loss against the true labels, so the curves sit apart by design.")
    figures = [{"file": "history.png", "title": "Training history", "caption": caption}]
    plot_history(history, run_dir / "history.png", kept_epoch=kept_epoch, label_smoothing=label_smoothing)
    if "predictions" in test:
        plot_confusion(test["targets"], test["predictions"], bundle.class_names, run_dir / "confusion.png")
        figures.append({"file": "confusion.png", "title": "Confusion matrix (test)",
                        "caption": "Rows are true classes, columns predictions; off-diagonal cells show which "
                                   "classes the model confuses."})
        text, table = classification_report_text(test["targets"], test["predictions"], bundle.class_names)
        atomic_write_text(run_dir / "classification_report.txt", text)
        write_json(run_dir / "classification_report.json", table)
    if bundle.kind == "forecast" and "outputs" in test:
        figures.append(forecast_figure(bundle, test["outputs"], run_dir, model=model))
    if bundle.kind in PREVIEWS:  # what the data looks like, last: the results come first on the page
        figures.append(write_preview(bundle, run_dir))
    return figures
