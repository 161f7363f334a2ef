"""MiniRocket (Dempster, Schmidt & Webb 2021): the non-neural baseline for series classification.

aeon's MiniRocket transform (10,000 random convolutional features by default; compiled by numba on
first use) -> scaling by the training features' standard deviation -> scikit-learn's RidgeClassifierCV
with its alpha chosen by leave-one-out on the training split (the paper's recipe, and aeon's own
MiniRocketClassifier). Optional: ``pip install 'archbench[timeseries]'``.

Input: a sequence bundle's x (N, T, C) float32 -> aeon's (N, C, T) float64; padded steps of unequal
series stay as the zeros the loader put there. The fitted state is arrays only (the transform's
five parameter arrays, the scale, the ridge weights): ``save_state`` writes them as safetensors plus
a JSON of settings, never a pickle; a refit from the same data and seed gives the same state.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Dict

import numpy as np
import torch
from safetensors.numpy import save
from sklearn.linear_model import RidgeClassifierCV

from ..data.base import DataBundle
from ..errors import UsageError
from ..files import atomic_write_bytes, write_json

ALPHAS = tuple(np.logspace(-3, 3, 10).tolist())
INSTALL = "MiniRocket needs aeon: pip install 'archbench[timeseries]'"


def numba_cache_dir() -> Path:
    """$ARCHBENCH_CACHE/numba (default ~/.cache/archbench/numba), set as NUMBA_CACHE_DIR unless the user
    set one: MiniRocket's kernels compile once (tens of seconds) and later runs load them from there."""
    path = Path(os.environ.get("ARCHBENCH_CACHE") or Path.home() / ".cache" / "archbench") / "numba"
    if not os.environ.get("NUMBA_CACHE_DIR"):
        path.mkdir(parents=True, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = str(path)
    return Path(os.environ["NUMBA_CACHE_DIR"])


def _minirocket_class():
    numba_cache_dir()  # before numba is first imported, or it caches beside the installed package
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError:
        raise UsageError(INSTALL) from None
    return MiniRocket


def to_aeon(x: torch.Tensor) -> np.ndarray:
    """(N, T, C) float tensor -> (N, C, T) float64 C-contiguous array, as aeon's collections are."""
    return np.ascontiguousarray(x.detach().cpu().numpy().transpose(0, 2, 1), dtype=np.float64)


class MiniRocketBaseline:
    """MiniRocket features + ridge classifier; ``fit(x, y)`` with x (N, T, C), labels (N,) 0..K-1."""

    def __init__(self, n_kernels: int = 10_000, seed: int = 0):
        self.n_kernels, self.seed = int(n_kernels), int(seed)
        self.transform = None
        self.scale = None
        self.ridge = None

    def _features(self, x: torch.Tensor) -> np.ndarray:
        return self.transform.transform(to_aeon(x)) / self.scale

    def fit(self, x: torch.Tensor, y) -> "MiniRocketBaseline":
        if x.shape[1] < 9:  # MiniRocket's kernels are 9 long
            raise UsageError(f"MiniRocket needs series of at least 9 steps, these have {x.shape[1]}")
        self.transform = _minirocket_class()(n_kernels=self.n_kernels, random_state=self.seed)
        raw = self.transform.fit_transform(to_aeon(x))
        std = raw.std(axis=0)
        self.scale = np.where(std > 0, std, 1.0)  # StandardScaler(with_mean=False), as aeon's classifier
        self.ridge = RidgeClassifierCV(alphas=ALPHAS).fit(raw / self.scale, np.asarray(y))
        return self

    def decision(self, x: torch.Tensor) -> np.ndarray:
        """(N, K) ridge scores, columns in label order 0..K-1 (a class absent from training scores -inf)."""
        if self.ridge is None:
            raise UsageError("MiniRocketBaseline: call fit() first")
        s = self.ridge.decision_function(self._features(x))
        classes = self.ridge.classes_.astype(int)
        if s.ndim == 1:  # two classes: one score for the second
            s = np.stack([-s, s], axis=1)
        out = np.full((s.shape[0], int(classes.max()) + 1), -np.inf)
        out[:, classes] = s
        return out

    def predict(self, x: torch.Tensor) -> np.ndarray:
        return self.decision(x).argmax(1)

    def settings(self) -> Dict:
        return {"n_kernels": self.n_kernels, "seed": self.seed, "alpha": float(self.ridge.alpha_),
                "features": int(self.scale.shape[0]) if self.scale is not None else 0}

    def save_state(self, folder: Path) -> None:
        """minirocket.safetensors (the transform's parameter arrays, scale, ridge coef/intercept) + minirocket.json."""

        arrays = {f"transform_{i}": np.ascontiguousarray(a) for i, a in enumerate(self.transform.parameters)}
        arrays.update(scale=self.scale.astype(np.float64), coef=np.ascontiguousarray(np.atleast_2d(self.ridge.coef_)),
                      intercept=np.atleast_1d(self.ridge.intercept_), classes=self.ridge.classes_.astype(np.int64))
        atomic_write_bytes(Path(folder) / "minirocket.safetensors", save(arrays))
        write_json(Path(folder) / "minirocket.json", self.settings())


def softmax(scores: np.ndarray) -> np.ndarray:
    """Ridge scores -> probability-like rows (for confidence columns and a log loss; ridge is not calibrated)."""
    z = scores - scores.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def run_minirocket(bundle: DataBundle, seed: int = 0, n_kernels: int = 10_000) -> Dict:
    """Fit on the train split, score val and test (the dict ``run_bow`` returns, plus the fitted model).

    Returns test_accuracy, val_accuracy, test_loss (cross-entropy of the softmaxed ridge scores),
    train_seconds, params, predictions (N,) int64, probabilities (N, K) float32, "model_object".
    """
    if bundle.kind != "sequence" or bundle.task != "classification":
        raise UsageError(f"MiniRocket needs series classification data; {bundle.name!r} is {bundle.kind}")
    start = time.perf_counter()
    model = MiniRocketBaseline(n_kernels=n_kernels, seed=seed).fit(bundle.train.x, bundle.train.y.numpy())
    seconds = time.perf_counter() - start
    val_acc = float((model.predict(bundle.val.x) == bundle.val.y.numpy()).mean()) if len(bundle.val) else float("nan")
    proba = softmax(model.decision(bundle.test.x))
    y = bundle.test.y.numpy()
    pred = proba.argmax(1)
    loss = float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None)).mean()) if len(y) else float("nan")
    return {
        "model": "minirocket", "test_accuracy": float((pred == y).mean()), "val_accuracy": val_acc,
        "test_loss": loss, "train_seconds": seconds, "params": model.settings(),
        "predictions": torch.from_numpy(pred.astype(np.int64)),
        "probabilities": torch.from_numpy(proba.astype(np.float32)), "model_object": model,
    }


__all__ = ["MiniRocketBaseline", "run_minirocket", "numba_cache_dir", "to_aeon"]
