"""One honest sentence per data set: does the best neural model beat the best non-neural baseline?

Reads compare's summary rows (mean and std over seeds/folds/draws of each (data, model)); the
score is test accuracy, or test RMSE (lower is better) for regression. A gap smaller than the
larger of the two standard deviations is called a tie, not a win.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

import numpy as np

BASELINE_NAMES = ("bow", "hgb", "linear", "naive", "seasonal_naive")


def baseline_verdicts(summary: Sequence[Dict[str, Any]], baselines: Sequence[str] = BASELINE_NAMES) -> List[str]:
    """Markdown lines, one per data set that has both a neural model and a baseline ([] otherwise)."""
    out: List[str] = []
    for data in dict.fromkeys(s["data"] for s in summary):
        rows = [s for s in summary if s["data"] == data]
        key, sign, unit = ("test_accuracy", 1, "%") if any("test_accuracy" in s for s in rows) else ("test_rmse", -1, "")
        rows = [s for s in rows if key in s]
        base = [s for s in rows if s["model"] in baselines]
        neural = [s for s in rows if s["model"] not in baselines]
        if not base or not neural:
            continue
        b = max(base, key=lambda s: sign * s[key])
        n = max(neural, key=lambda s: sign * s[key])
        scale = 100 if unit == "%" else 1

        def text(s):
            return f"{s['model']} {scale * s[key]:.2f}{unit}" + (f" ± {scale * s.get(key + '_std', 0):.2f}"
                                                                if s.get("n_seeds", 1) > 1 else "")

        gap = sign * (n[key] - b[key])
        noise = max(n.get(key + "_std", 0.0) or 0.0, b.get(key + "_std", 0.0) or 0.0)
        if abs(gap) <= noise:
            verdict = "a tie within the spread over runs: the simpler baseline is the safer choice"
        elif gap > 0:
            verdict = "the neural model wins"
        else:
            verdict = f"**the baseline {b['model']} wins**: on this data no neural model here beats it"
        out.append(f"- {data}: best neural {text(n)} against best baseline {text(b)}: {verdict}.")
    if out:
        out.insert(0, "\n## Neural models against the baselines\n")
    return out


def join_folds(correct: Dict[str, List[Any]], rows: Sequence[Dict[str, Any]]) -> Dict[str, List[Any]]:
    """{model: per-run correctness arrays, in ``rows`` order} -> {model: one array per seed}: the
    folds of a k-fold comparison test different examples, and together each example once, so a
    seed's folds concatenated (in fold order) pair example by example with another model's."""

    out: Dict[str, List[Any]] = {}
    for model, arrays in correct.items():
        runs = [r for r in rows if r["model"] == model]
        by_seed: Dict[Any, List[Any]] = {}
        for r, a in sorted(zip(runs, arrays), key=lambda p: (p[0].get("seed", 0), p[0].get("fold", 0))):
            by_seed.setdefault(r.get("seed", 0), []).append(a)
        out[model] = [np.concatenate(v) for v in by_seed.values()]
    return out


__all__ = ["baseline_verdicts", "join_folds"]
