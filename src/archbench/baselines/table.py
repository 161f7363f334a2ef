"""The baselines a practitioner tries first on a table, scored like every archbench run.

``hgb``     scikit-learn's HistGradientBoostingClassifier / Regressor on the table as it is: numbers
            with their gaps (NaN, which it handles natively) and categories as codes (its native
            categorical splits), from ``bundle.extras["raw"]``; learning rate and leaf count picked
            on the validation split.
``linear``  logistic regression (classification) or ridge-regularised linear regression on the
            same encoded features the MLP sees (standardised numbers, gap indicators, one-hot);
            C / alpha picked on the validation split.

Nothing fitted is pickled: ``save_state`` writes the chosen settings as JSON and, for ``linear``,
the coefficients as safetensors; gradient boosting is refitted deterministically from the run's
data, seed and settings (scikit-learn's fits are deterministic for a fixed ``random_state``).

Shapes: classification returns predictions (N,) int64 and probabilities (N, K) float32 for the
test split; regression returns outputs (N, 1) float32 in the file's units.
"""
from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge

from ..data.base import DataBundle
from ..errors import UsageError
from ..files import atomic_write, write_json
from ..train.scores import classification_scores, regression_scores

TABLE_BASELINES = {
    "hgb": "gradient boosting: scikit-learn HistGradientBoosting on the raw table (table data)",
    "linear": "logistic / ridge linear regression on the encoded table (table data)",
}
HGB_GRID = {"learning_rate": (0.05, 0.1), "max_leaf_nodes": (15, 31)}
LINEAR_C = (0.1, 1.0, 10.0)
RIDGE_ALPHA = (0.1, 1.0, 10.0)


def _estimator(name: str, classification: bool, params: Dict[str, Any], bundle: DataBundle, seed: int):
    balanced = "balanced" if bundle.extras.get("class_weight") is not None else None
    if name == "hgb":
        mask = np.asarray(bundle.extras.get("categorical", []), dtype=bool)
        common = dict(max_iter=300, early_stopping=False, random_state=seed,
                      categorical_features=mask if mask.any() else None, **params)
        if classification:
            return HistGradientBoostingClassifier(class_weight=balanced, **common)
        return HistGradientBoostingRegressor(**common)
    if classification:
        return LogisticRegression(max_iter=3000, random_state=seed, class_weight=balanced, **params)

    return Ridge(**params)


def _inputs(name: str, bundle: DataBundle, split: str) -> np.ndarray:
    if name == "hgb":
        return bundle.extras["raw"][split]
    return getattr(bundle, split).x.numpy().astype(np.float64)


def _grid(name: str, classification: bool):
    if name == "hgb":
        keys = list(HGB_GRID)
        return [dict(zip(keys, v)) for v in itertools.product(*HGB_GRID.values())]
    return [{"C": c} for c in LINEAR_C] if classification else [{"alpha": a} for a in RIDGE_ALPHA]


def _proba(est, x: np.ndarray, k: int) -> np.ndarray:
    p = est.predict_proba(x)
    out = np.zeros((len(x), k))
    out[:, est.classes_.astype(np.int64)] = p  # a class absent from training keeps probability 0
    return out


def fit_table_baseline(name: str, bundle: DataBundle, seed: int = 0) -> Tuple[Any, Dict[str, Any]]:
    """(fitted estimator, chosen settings): every grid point fitted on train, the best on validation
    kept (accuracy, or RMSE for regression; ties go to the first, simpler, point)."""
    if name not in TABLE_BASELINES:
        raise UsageError(f"unknown table baseline {name!r}; valid: {', '.join(TABLE_BASELINES)}")
    if bundle.kind != "table":
        raise UsageError(f"baseline {name!r} takes table data; {bundle.name!r} is {bundle.kind}")
    classification = bundle.task == "classification"
    xt, yt = _inputs(name, bundle, "train"), bundle.train.y.numpy()
    xv, yv = _inputs(name, bundle, "val"), bundle.val.y.numpy()
    if not classification:
        yt, yv = yt.ravel(), yv.ravel()
    best = None
    for params in _grid(name, classification):
        est = _estimator(name, classification, params, bundle, seed).fit(xt, yt)
        pred = est.predict(xv)
        score = float((pred == yv).mean()) if classification else -float(np.sqrt(((pred - yv) ** 2).mean()))
        if best is None or score > best[0]:
            best = (score, params, est)
    return best[2], dict(best[1])


def run_table_baseline(name: str, bundle: DataBundle, seed: int = 0) -> Dict[str, Any]:
    """Fit (settings chosen on validation), score validation and test like a neural run's metrics."""
    start = time.perf_counter()
    est, params = fit_table_baseline(name, bundle, seed)
    seconds = time.perf_counter() - start
    res: Dict[str, Any] = {"model": name, "train_seconds": seconds, "settings": params, "estimator": est}
    xv, xte = _inputs(name, bundle, "val"), _inputs(name, bundle, "test")
    if bundle.task == "classification":
        k = bundle.num_classes
        pv, pt = _proba(est, xv, k), _proba(est, xte, k)
        y, pred = bundle.test.y.numpy(), pt.argmax(1)
        res.update(val_accuracy=float((pv.argmax(1) == bundle.val.y.numpy()).mean()),
                   test_accuracy=float((pred == y).mean()) if len(y) else float("nan"),
                   test_loss=float(-np.log(np.clip(pt[np.arange(len(y)), y], 1e-12, None)).mean()) if len(y)
                   else float("nan"),
                   predictions=torch.from_numpy(pred.astype(np.int64)),
                   probabilities=torch.from_numpy(pt.astype(np.float32)))
        res.update({f"test_{k2}": v for k2, v in classification_scores(y, pred, k).items()})
    else:
        mu, sd = bundle.extras.get("target_scale", (0.0, 1.0))
        out = est.predict(xte).reshape(-1, 1) * sd + mu
        val = regression_scores(est.predict(xv).reshape(-1, 1) * sd + mu, bundle.val.y.numpy() * sd + mu)
        test = regression_scores(out, bundle.test.y.numpy() * sd + mu)
        res.update({f"test_{k2}": v for k2, v in test.items()}, val_rmse=val["rmse"], best_val_rmse=val["rmse"],
                   test_loss=float(((est.predict(xte).reshape(-1, 1) - bundle.test.y.numpy()) ** 2).mean()),
                   outputs=torch.from_numpy(out.astype(np.float32)))
    res["params"] = count_params(est)
    return res


def count_params(est) -> int:
    """Fitted numbers: coefficients and intercepts, or for boosting one threshold/value per tree node."""
    if hasattr(est, "coef_"):
        return int(np.size(est.coef_) + np.size(getattr(est, "intercept_", 0)))
    nodes = sum(len(p.nodes) for it in getattr(est, "_predictors", []) for p in it)
    return int(nodes)


def save_state(run_dir: Path, name: str, res: Dict[str, Any], seed: int) -> None:
    """baseline.json (settings; enough to refit) and for linear models baseline.safetensors (weights)."""
    est = res["estimator"]
    state = {"baseline": name, "seed": seed, "settings": res["settings"], "sklearn_class": type(est).__name__,
             "refit": "deterministic from the run's data, seed and settings"}
    if hasattr(est, "coef_"):
        tensors = {"coef": torch.as_tensor(np.atleast_2d(est.coef_), dtype=torch.float64).contiguous(),
                   "intercept": torch.as_tensor(np.atleast_1d(est.intercept_), dtype=torch.float64).contiguous()}
        if hasattr(est, "classes_"):
            tensors["classes"] = torch.as_tensor(est.classes_.astype(np.int64))
        atomic_write(Path(run_dir) / "baseline.safetensors", lambda tmp: save_file(tensors, tmp))
        state["weights"] = "baseline.safetensors"
    write_json(Path(run_dir) / "baseline.json", state)


__all__ = ["TABLE_BASELINES", "fit_table_baseline", "run_table_baseline", "save_state"]
