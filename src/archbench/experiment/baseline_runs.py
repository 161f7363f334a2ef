"""Run directories of baselines (``archbench train bow``): predict, evaluate, explain and export them.

A baseline run keeps metrics and predictions but no pickled model (no pickle of anything loaded);
its model is refitted from the run's data and seed, which is deterministic (a fixed C grid, a seeded
solver), so the refitted model is the run's model and ``evaluate`` reproduces metrics.json.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..baselines import BASELINES, bundle_texts, fit_bow
from ..data import load_data
from ..errors import UsageError
from ..rundir import read_run_config


def baseline_name(config: Dict[str, Any]) -> Optional[str]:
    """The baseline a run directory holds ("bow", ...), or None for a neural run."""
    name = config.get("model", {}).get("name") or config["train"].get("model")
    return name if name in BASELINES else None


def refit_baseline(config: Dict[str, Any]) -> Tuple[Any, Any]:
    """(fitted baseline, data bundle) of a baseline run, refitted from its data and seed."""
    t = config["train"]
    name = baseline_name(config)
    if name != "bow":
        raise UsageError(f"baseline {name!r} cannot be refitted for new inputs")
    bundle = load_data(t["data"], data_dir=t.get("data_dir"), seed=t.get("data_seed", 0), **(t.get("data_args") or {}))
    return fit_bow(bundle, seed=t.get("seed", 0)), bundle


def evaluate_baseline(run_dir: Path) -> Dict[str, Any]:
    """The evaluate_run result of a baseline run: test accuracy and loss of the refitted model."""
    config = read_run_config(run_dir)
    model, bundle = refit_baseline(config)
    proba = model.predict_proba(bundle_texts(bundle, "test"))
    y = bundle.test.y.numpy()
    loss = float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None)).mean()) if len(y) else float("nan")
    return {"run": str(run_dir), "model": config["train"]["model"], "data": config["train"]["data"],
            "test_loss": loss, "n": int(len(y)), "test_accuracy": float((proba.argmax(1) == y).mean())}


def refuse_explain(run_dir: Path) -> None:
    """One line for `explain` on a baseline run (it has no layers to show)."""
    config = read_run_config(run_dir)
    name = baseline_name(config)
    if name:
        raise UsageError(f"{run_dir} is the {name!r} baseline ({BASELINES[name]}): it has no filters, feature maps, "
                         "attention or gradients to explain; explain a neural run")


__all__ = ["baseline_name", "refit_baseline", "evaluate_baseline", "refuse_explain"]
