"""Non-neural baselines every neural model is compared against.

Text: :class:`BagOfWords`, TF-IDF over word 1-2-grams (the same tokenizer as the neural models)
and a logistic regression whose C is picked on the validation split. It reads the raw texts that
text loaders keep in ``bundle.extras["texts"]``.

Forecasting: the naive (last value) and seasonal-naive forecasts of
:mod:`archbench.data.timeseries`, scored in the series' original units.

``run_baseline(bundle)`` picks the one that fits the data kind.
"""
from __future__ import annotations

import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ..data.base import DataBundle
from ..data.text import tokenize
from ..data.timeseries import forecast_metrics, naive_forecast, seasonal_naive_forecast
from ..errors import UsageError

C_GRID = (1.0, 4.0, 16.0)


class BagOfWords:
    """TF-IDF (sublinear tf, word n-grams) + multinomial logistic regression."""

    def __init__(self, ngram_range=(1, 2), min_df: int = 1, max_features: Optional[int] = 300_000,
                 C: float = 4.0, seed: int = 0):
        self.ngram_range, self.min_df, self.max_features = tuple(ngram_range), min_df, max_features
        self.C, self.seed = C, seed
        self.vectorizer = None
        self.classifier = None

    def _features(self, texts: Sequence[str], fit: bool = False):
        if fit:
            self.vectorizer = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None,
                                              ngram_range=self.ngram_range, min_df=self.min_df,
                                              max_features=self.max_features, sublinear_tf=True, dtype=np.float32)
            return self.vectorizer.fit_transform(texts)
        return self.vectorizer.transform(texts)

    def _classifier(self, C: float):
        return LogisticRegression(C=C, max_iter=2000, random_state=self.seed)

    def fit(self, texts: Sequence[str], labels, val_texts: Optional[Sequence[str]] = None, val_labels=None,
            C_grid: Sequence[float] = C_GRID) -> "BagOfWords":
        """Fit on texts; with validation texts, C is the best of ``C_grid`` on them (ties: smaller C)."""
        y = np.asarray(labels)
        x = self._features(texts, fit=True)
        if val_texts is not None and len(val_texts) and len(C_grid) > 1:
            xv, yv = self._features(val_texts), np.asarray(val_labels)
            best = None
            for C in C_grid:
                clf = self._classifier(C).fit(x, y)
                acc = float((clf.predict(xv) == yv).mean())
                if best is None or acc > best[0]:
                    best = (acc, C, clf)
            _, self.C, self.classifier = best
        else:
            self.classifier = self._classifier(self.C).fit(x, y)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, classes) probabilities, columns in label order 0..K-1."""
        if self.classifier is None:
            raise UsageError("BagOfWords: call fit() first")
        p = self.classifier.predict_proba(self._features(texts))
        out = np.zeros((p.shape[0], int(self.classifier.classes_.max()) + 1), dtype=np.float64)
        out[:, self.classifier.classes_] = p  # a class absent from training keeps probability 0
        return out

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba(texts).argmax(1)

    def params(self) -> Dict:
        return {"ngram_range": list(self.ngram_range), "min_df": self.min_df, "C": self.C,
                "features": len(self.vectorizer.vocabulary_) if self.vectorizer is not None else 0}


def bundle_texts(bundle: DataBundle, split: str) -> List[str]:
    """Raw texts of a split: the ones the loader kept, else decoded from token ids with the vocabulary."""
    texts = bundle.extras.get("texts")
    if texts and split in texts:
        return list(texts[split])
    vocab = bundle.extras.get("vocab")
    if vocab is None:
        raise UsageError(f"data set {bundle.name!r} keeps neither raw texts nor a vocabulary for a bag of words")
    return [" ".join(vocab.decode(row)) for row in getattr(bundle, split).x]


def fit_bow(data, labels=None, seed: int = 0, **kwargs) -> BagOfWords:
    """``fit_bow(bundle)`` (C chosen on its validation split) or ``fit_bow(texts, labels)``."""
    if isinstance(data, DataBundle):
        return BagOfWords(seed=seed, **kwargs).fit(
            bundle_texts(data, "train"), data.train.y.numpy(), bundle_texts(data, "val"), data.val.y.numpy())
    if labels is None:
        raise UsageError("fit_bow(texts, labels): labels are missing")
    return BagOfWords(seed=seed, **kwargs).fit(list(data), labels)


def run_bow(bundle: DataBundle, seed: int = 0, **kwargs) -> Dict:
    """Fit on train (C picked on val), score val and test.

    Returns test_accuracy, val_accuracy, test_loss (cross-entropy), train_seconds, params, and for the
    test split predictions (N,) int64 and probabilities (N, classes) float32 tensors.
    """
    if bundle.kind != "text":
        raise UsageError(f"the bag-of-words baseline needs text data; {bundle.name!r} is {bundle.kind}")
    start = time.perf_counter()
    model = fit_bow(bundle, seed=seed, **kwargs)
    seconds = time.perf_counter() - start
    val_pred = model.predict(bundle_texts(bundle, "val"))
    proba = model.predict_proba(bundle_texts(bundle, "test"))
    y = bundle.test.y.numpy()
    pred = proba.argmax(1)
    loss = float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None)).mean()) if len(y) else float("nan")
    return {
        "model": "bow",
        "test_accuracy": float((pred == y).mean()),
        "val_accuracy": float((val_pred == bundle.val.y.numpy()).mean()),
        "test_loss": loss,
        "train_seconds": seconds,
        "params": model.params(),
        "predictions": torch.from_numpy(pred.astype(np.int64)),
        "probabilities": torch.from_numpy(proba.astype(np.float32)),
    }


def run_forecast_baselines(bundle: DataBundle) -> Dict[str, Dict]:
    """{"naive": {...}, "seasonal_naive": {...}}, each with val/test MAE and RMSE in original units and
    the test predictions (N, horizon), scaled like ``bundle.test.y``."""

    if bundle.kind != "forecast":
        raise UsageError(f"naive forecasts need forecasting data; {bundle.name!r} is {bundle.kind}")
    out = {}
    for name, fn in (("naive", naive_forecast), ("seasonal_naive", seasonal_naive_forecast)):
        res: Dict = {"model": name}
        for split in ("val", "test"):
            pred = fn(bundle, split)
            for k, v in forecast_metrics(pred, getattr(bundle, split).y, bundle).items():
                res[f"{split}_{k}"] = v
        res["predictions"] = fn(bundle, "test")
        out[name] = res
    return out


def run_baseline(bundle: DataBundle, seed: int = 0) -> Dict[str, Dict]:
    """The baselines that fit the data kind, by name: {"bow": ...} or {"naive": ..., "seasonal_naive": ...}."""
    if bundle.kind == "text":
        return {"bow": run_bow(bundle, seed=seed)}
    if bundle.kind == "forecast":
        return run_forecast_baselines(bundle)
    raise UsageError(f"no baseline for {bundle.kind} data (text and forecast have one)")


__all__ = ["BagOfWords", "fit_bow", "run_bow", "bundle_texts", "run_forecast_baselines", "run_baseline"]


BASELINES = {"bow": "bag-of-words baseline: word 1-2-gram TF-IDF + logistic regression (text data)",
             "hgb": "gradient boosting: scikit-learn HistGradientBoosting on the raw table (table data)",
             "linear": "logistic / ridge linear regression on the encoded table (table data)",
             "minirocket": "MiniRocket baseline (aeon): 10,000 random convolution features + ridge (series classification)"}
BASELINE_KINDS = {"bow": "text", "hgb": "table", "linear": "table", "minirocket": "sequence"}  # the data kind each baseline takes
