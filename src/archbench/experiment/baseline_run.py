"""A non-neural baseline (``bow`` on text, ``hgb`` and ``linear`` on tables) as a run directory of its own.

The directory has what a neural run's has for comparing: archbench.json, config.json, metrics.json
(the same keys: test_accuracy, best_val_accuracy, test_balanced_accuracy, test_macro_f1, or
test_mae/test_rmse/test_r2), predictions.csv, the confusion matrix and the page; a table baseline also
keeps baseline.json / baseline.safetensors (:func:`archbench.baselines.table.save_state`), never a pickle.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, Optional

from ..baselines import BASELINE_KINDS, BASELINES, run_bow
from ..baselines.rocket import run_minirocket
from ..baselines.table import run_table_baseline, save_state
from ..config import TrainConfig, route
from ..data import dataset_entry, load_data
from ..data.base import DataBundle
from ..errors import UsageError
from ..files import write_json
from ..report.html import build_report
from ..rundir import default_run_dir, marker, open_out_dir, versions
from ..train.runtime import set_threads
from ..viz.history import plot_confusion
from .artefacts import classification_scores_of, write_predictions
from .results import RunResult


def train_baseline(cfg: TrainConfig, overrides: Dict[str, Any], write: bool = True,
                   bundle: Optional[DataBundle] = None) -> RunResult:
    """Fit the baseline ``cfg.model`` on cfg.data's train split (settings picked on val); write its run."""
    data = dataset_entry(cfg.data)
    keep = ("seed", "data_dir", "data_seed", "progress", "threads", "out", *data.options())  # data options too (fold, ...)
    route(cfg, {k: v for k, v in overrides.items() if k in keep}, {}, data.options())
    if data.kind != BASELINE_KINDS[cfg.model]:
        raise UsageError(f"model {cfg.model!r} takes {BASELINE_KINDS[cfg.model]} data; {cfg.data} is {data.kind}")
    set_threads(cfg.threads)
    if bundle is None:
        bundle = load_data(cfg.data, data_dir=cfg.data_dir, seed=cfg.data_seed, **cfg.data_args)
    metrics, res = _table(cfg, bundle) if BASELINE_KINDS[cfg.model] == "table" else _features(cfg, bundle)
    run_dir = Path(cfg.out) if cfg.out else default_run_dir(cfg)
    if write:
        _write(run_dir, cfg, bundle, metrics, res)
    if cfg.progress != "none":
        score = (f"test accuracy {100 * metrics['test_accuracy']:.2f}%" if "test_accuracy" in metrics
                 else f"test MAE {metrics['test_mae']:.4f}, R2 {metrics['test_r2']:.3f}")
        print(f"{cfg.model} on {cfg.data}: {score} in {res['train_seconds']:.1f}s", file=sys.stderr)
    return RunResult(run_dir if write else None, metrics, [], None, bundle)


def _features(cfg: TrainConfig, bundle: DataBundle):
    """bow (word n-gram TF-IDF) or minirocket (random convolutions), each with a linear classifier."""
    res = (run_bow if cfg.model == "bow" else run_minirocket)(bundle, seed=cfg.seed)
    metrics = {"model": cfg.model, "data": cfg.data, "seed": cfg.seed, "test_accuracy": res["test_accuracy"],
               "best_val_accuracy": res["val_accuracy"], "test_loss": res["test_loss"], "epochs_run": 1,
               "best_epoch": 1, "train_seconds": round(res["train_seconds"], 3),
               # parameters of a linear model: one weight per feature and class, plus biases
               "params": (res["params"]["features"] + 1) * max(bundle.num_classes - 1, 1), "settings": res["params"]}
    metrics.update(classification_scores_of(bundle.test.y, res["predictions"], bundle))
    return metrics, res


def _table(cfg: TrainConfig, bundle: DataBundle):
    res = run_table_baseline(cfg.model, bundle, seed=cfg.seed)
    metrics: Dict[str, Any] = {"model": cfg.model, "data": cfg.data, "seed": cfg.seed, "test_loss": res["test_loss"],
                               "epochs_run": 1, "best_epoch": 1, "train_seconds": round(res["train_seconds"], 3),
                               "params": res["params"], "settings": res["settings"]}
    metrics.update({k: v for k, v in res.items() if k.startswith("test_")})
    if "val_accuracy" in res:
        metrics["best_val_accuracy"] = res["val_accuracy"]
    else:
        metrics["best_val_rmse"] = res["val_rmse"]
    return metrics, res


def _write(run_dir: Path, cfg: TrainConfig, bundle: DataBundle, metrics: Dict[str, Any], res: Dict[str, Any]) -> None:
    open_out_dir(run_dir, "run")
    write_json(run_dir / "archbench.json", marker("run", f"{cfg.model} on {cfg.data}"))
    write_json(run_dir / "config.json", {"train": cfg.to_dict(), "model": {"name": cfg.model, "summary": BASELINES[cfg.model]},
                                         "data": bundle.describe(), "versions": versions()})
    if BASELINE_KINDS[cfg.model] == "table":
        save_state(run_dir, cfg.model, res, cfg.seed)
    if "model_object" in res:  # arrays + JSON, no pickle
        res["model_object"].save_state(run_dir)
    figures = []
    if "predictions" in res:
        test = {"predictions": res["predictions"], "probabilities": res["probabilities"], "targets": bundle.test.y}
        write_predictions(run_dir, test, bundle)
        plot_confusion(bundle.test.y, res["predictions"], bundle.class_names, run_dir / "confusion.png")
        figures.append({"file": "confusion.png", "title": "Confusion matrix (test)",
                        "caption": "The baseline every neural model must beat."})
    else:  # regression: errors in the file's units (the loader standardised the target)
        mu, sd = bundle.extras.get("target_scale", (0.0, 1.0))
        write_predictions(run_dir, {"outputs": res["outputs"], "targets": bundle.test.y * sd + mu}, bundle)
    write_json(run_dir / "figures.json", figures)
    write_json(run_dir / "metrics.json", metrics)
    build_report(run_dir)
