"""A table baseline (``hgb``, ``linear``) as a run directory, and table regression scores.

The directory has what a neural run's has for comparing: archbench.json, config.json, metrics.json
(same keys: test_accuracy, best_val_accuracy, test_balanced_accuracy, test_macro_f1, or
test_mae/test_rmse/test_r2), predictions.csv, the confusion matrix, the report; plus
baseline.json / baseline.safetensors (:func:`archbench.baselines_table.save_state`), never a pickle.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

from ..baselines_table import run_table_baseline, save_state
from ..config import TrainConfig
from ..data.base import DataBundle
from ..files import write_json
from ..scores import regression_scores


def table_regression_scores(test: Dict[str, Any], bundle: DataBundle) -> Dict[str, float]:
    """test_mae, test_rmse, test_r2 of a neural run's test outputs (N, 1), in the file's units."""
    mu, sd = bundle.extras.get("target_scale", (0.0, 1.0))
    scores = regression_scores(test["outputs"].double() * sd + mu, test["targets"].double() * sd + mu)
    return {f"test_{k}": v for k, v in scores.items()}


def table_baseline_run(cfg: TrainConfig, bundle: DataBundle, write: bool = True):
    from .run import (BASELINES, RunResult, build_report_quietly, default_run_dir, marker, open_out_dir,
                      versions, write_predictions)

    res = run_table_baseline(cfg.model, bundle, seed=cfg.seed)
    metrics: Dict[str, Any] = {"model": cfg.model, "data": cfg.data, "seed": cfg.seed, "test_loss": res["test_loss"],
                               "epochs_run": 1, "best_epoch": 1, "train_seconds": round(res["train_seconds"], 3),
                               "params": res["params"], "settings": res["settings"]}
    metrics.update({k: v for k, v in res.items() if k.startswith("test_")})
    if "val_accuracy" in res:
        metrics["best_val_accuracy"] = res["val_accuracy"]
    else:
        metrics["best_val_rmse"] = res["val_rmse"]
    run_dir = Path(cfg.out) if cfg.out else default_run_dir(cfg)
    if write:
        open_out_dir(run_dir, "run")
        write_json(run_dir / "archbench.json", marker("run", f"{cfg.model} on {cfg.data}"))
        write_json(run_dir / "config.json", {"train": cfg.to_dict(),
                                             "model": {"name": cfg.model, "summary": BASELINES[cfg.model]},
                                             "data": bundle.describe(), "versions": versions()})
        save_state(run_dir, cfg.model, res, cfg.seed)
        figures = []
        if "predictions" in res:
            test = {"predictions": res["predictions"], "probabilities": res["probabilities"], "targets": bundle.test.y}
            write_predictions(run_dir, test, bundle)
            from ..viz.history import plot_confusion

            plot_confusion(bundle.test.y, res["predictions"], bundle.class_names, run_dir / "confusion.png")
            figures.append({"file": "confusion.png", "title": "Confusion matrix (test)",
                            "caption": "The baseline every neural model must beat."})
        else:
            mu, sd = bundle.extras.get("target_scale", (0.0, 1.0))
            test = {"outputs": res["outputs"], "targets": bundle.test.y * sd + mu}
            write_predictions(run_dir, test, bundle)
        write_json(run_dir / "figures.json", figures)
        write_json(run_dir / "metrics.json", metrics)
        build_report_quietly(run_dir)
    if cfg.progress != "none":
        score = (f"test accuracy {100 * metrics['test_accuracy']:.2f}%" if "test_accuracy" in metrics
                 else f"test MAE {metrics['test_mae']:.4f}, R2 {metrics['test_r2']:.3f}")
        print(f"{cfg.model} on {cfg.data}: {score} in {res['train_seconds']:.1f}s", file=sys.stderr)
    return RunResult(run_dir if write else None, metrics, [], None, bundle)


__all__ = ["table_baseline_run", "table_regression_scores"]
