"""Statistics that make a comparison of models honest.

- :func:`mean_std` / :func:`aggregate`: mean and sample std (ddof=1) over repeated seeds.
- :func:`mcnemar`: paired test on per-example correctness of two models on the SAME test set.
- :func:`bootstrap_diff`: paired bootstrap confidence interval of an accuracy difference.
- :func:`compare_to_best`: every model against the most accurate one, as numbers and a sentence.
- :func:`average_ranks`: average rank over data sets (1 = best, ties averaged), as the time-series
  classification literature reports (Demsar 2006).

Correctness arrays are bool of shape (N,) -- one entry per test example -- or, for several seeds,
a list of such arrays (or an array (S, N)) with the same examples in the same order. Differences
are in percentage points.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

import numpy as np

from ..errors import ArchbenchError

EXACT_BELOW = 25  # discordant pairs: exact binomial test below, chi-square above


def mean_std(values: Iterable[float]) -> Tuple[float, float]:
    """(mean, sample std with ddof=1); std is 0 for one value, both NaN for none."""
    v = np.asarray([float(x) for x in values], dtype=float)
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def aggregate(rows: Sequence[Mapping[str, Any]], key_cols: Sequence[str],
              metric_cols: Sequence[str]) -> List[Dict[str, Any]]:
    """Per-seed rows -> one row per group of ``key_cols``: the keys, ``n`` and ``<metric>_mean`` /
    ``<metric>_std`` for each metric (missing or None values are left out of that metric's
    statistics). Groups keep the order in which they first appear."""
    groups: Dict[tuple, List[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k in key_cols), []).append(r)
    out = []
    for key, members in groups.items():
        row: Dict[str, Any] = dict(zip(key_cols, key))
        row["n"] = len(members)
        for m in metric_cols:
            row[f"{m}_mean"], row[f"{m}_std"] = mean_std(r[m] for r in members if r.get(m) is not None)
        out.append(row)
    return out


def _bool(a, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise ArchbenchError(f"{what} must be one value per test example, got shape {a.shape}")
    return a.astype(bool)


def _paired(correct_a, correct_b) -> Tuple[np.ndarray, np.ndarray]:
    a, b = _bool(correct_a, "correct_a"), _bool(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ArchbenchError(
            f"paired comparison needs the same test examples: {a.size} vs {b.size} predictions")
    return a, b


def mcnemar(correct_a, correct_b) -> Dict[str, Any]:
    """McNemar's test of whether models A and B have the same accuracy on paired examples.

    ``b01`` = examples A gets wrong and B right, ``b10`` = A right and B wrong. Only these
    discordant pairs carry information. With fewer than 25 of them the exact two-sided binomial
    test (statistic = the smaller count) is used, else chi-square with continuity correction,
    (|b01 - b10| - 1)^2 / (b01 + b10), one degree of freedom.
    """
    a, b = _paired(correct_a, correct_b)
    b01, b10 = int(np.sum(~a & b)), int(np.sum(a & ~b))
    n = b01 + b10
    if n == 0:
        return dict(b01=0, b10=0, statistic=0.0, p_value=1.0, method="no discordant pairs")
    if n < EXACT_BELOW:
        k = min(b01, b10)
        p = min(1.0, 2.0 * sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n)  # binomial(n, 1/2) CDF at k
        return dict(b01=b01, b10=b10, statistic=float(k), p_value=p, method="exact binomial")
    stat = (abs(b01 - b10) - 1.0) ** 2 / n
    return dict(b01=b01, b10=b10, statistic=float(stat), p_value=math.erfc(math.sqrt(stat / 2.0)),
                method="chi-square with continuity correction")


def bootstrap_diff(correct_a, correct_b, n_boot: int = 2000, seed: int = 0, ci: float = 0.95) -> Dict[str, float]:
    """Paired bootstrap of accuracy(A) - accuracy(B) in percentage points: {diff, low, high}.

    Resampling N examples with replacement only changes how many of them are "A right, B wrong"
    (+1) and "A wrong, B right" (-1), so the bootstrap draws those two counts from a multinomial --
    the same distribution as resampling indices, in O(n_boot) instead of O(n_boot * N).
    """
    a, b = _paired(correct_a, correct_b)
    n = a.size
    if n == 0:
        raise ArchbenchError("bootstrap needs at least one test example")
    d = a.astype(np.int8) - b.astype(np.int8)
    p_up, p_down = np.mean(d == 1), np.mean(d == -1)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, [p_up, p_down, max(0.0, 1.0 - p_up - p_down)], size=n_boot)
    boot = 100.0 * (counts[:, 0] - counts[:, 1]) / n
    tail = 100.0 * (1.0 - ci) / 2.0
    low, high = np.percentile(boot, [tail, 100.0 - tail])
    return dict(diff=float(100.0 * d.mean()), low=float(low), high=float(high))


def _seeds(correct) -> List[np.ndarray]:
    """One bool (N,) array per seed."""
    if isinstance(correct, np.ndarray) and correct.ndim == 2:
        return [c.astype(bool) for c in correct]
    if isinstance(correct, (list, tuple)) and correct and np.ndim(correct[0]) == 1:
        return [_bool(c, "per-seed correctness") for c in correct]
    return [_bool(correct, "correctness")]


def format_p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


def holm(p_values: Sequence[float]) -> List[float]:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adj = np.minimum(1.0, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    out = np.empty_like(p)
    out[order] = adj
    return out.tolist()


def compare_to_best(per_model_correct: Mapping[str, Any], alpha: float = 0.05) -> Dict[str, Dict[str, Any]]:
    """Each model against the one with the highest mean accuracy.

    ``per_model_correct`` maps a model name to its per-example correctness on one test set: a bool
    array (one run) or a list of arrays (one per seed). Returns {name: row}, most accurate first;
    a row holds accuracy (mean and std over seeds, %), diff / diff_std (points vs the best), n_seeds,
    p_value, p_holm, significant, b01/b10 and ``text``.

    The difference is the mean +- std over seeds of the per-seed difference when both models have
    the same number of seeds (seed i paired with seed i), otherwise the difference of the means with
    std sqrt(std_a^2 + std_b^2). The p-value is McNemar's test on the examples POOLED across the
    paired seeds (seed i of the model vs seed i of the best, concatenated): it asks whether a run
    of one model beats a run of the other on a random test example. The same example appears once
    per seed, so with several seeds the pooled test is somewhat optimistic; ``p_holm`` additionally
    corrects for comparing several models against the best (Holm-Bonferroni). ``significant`` is
    ``p_value < alpha``.
    """
    if not per_model_correct:
        raise ArchbenchError("nothing to compare: no models given")
    runs = {name: _seeds(c) for name, c in per_model_correct.items()}
    sizes = {r.size for rs in runs.values() for r in rs}
    if len(sizes) != 1:
        raise ArchbenchError(f"models were evaluated on different test sets (sizes {sorted(sizes)})")
    accs = {name: [100.0 * r.mean() for r in rs] for name, rs in runs.items()}
    order = sorted(accs, key=lambda n: -np.mean(accs[n]))
    best = order[0]
    rows: Dict[str, Dict[str, Any]] = {}
    for name in order:
        acc_mean, acc_std = mean_std(accs[name])
        k = min(len(runs[name]), len(runs[best]))
        if len(accs[name]) == len(accs[best]):
            diff, diff_std = mean_std(np.subtract(accs[name], accs[best]))
        else:
            diff = acc_mean - mean_std(accs[best])[0]
            diff_std = math.hypot(acc_std, mean_std(accs[best])[1])
        test = mcnemar(np.concatenate(runs[name][:k]), np.concatenate(runs[best][:k]))
        rows[name] = dict(model=name, best=best, accuracy=acc_mean, accuracy_std=acc_std,
                          n_seeds=len(runs[name]), diff=0.0 if name == best else diff,
                          diff_std=0.0 if name == best else diff_std, p_value=test["p_value"],
                          b01=test["b01"], b10=test["b10"], method=test["method"])
    others = [n for n in order if n != best]
    for name, p in zip(others, holm([rows[n]["p_value"] for n in others])):
        rows[name]["p_holm"] = p
    rows[best]["p_holm"] = 1.0
    for name, r in rows.items():
        r["significant"] = name != best and r["p_value"] < alpha
        if name == best:
            r["text"] = f"{name}: best, {r['accuracy']:.2f}% accuracy" + (
                f" ± {r['accuracy_std']:.2f} over {r['n_seeds']} runs" if r["n_seeds"] > 1 else "")
            continue
        spread = f" ± {r['diff_std']:.1f}" if max(r["n_seeds"], len(runs[best])) > 1 else ""
        verdict = "significant" if r["significant"] else "not significant"
        r["text"] = f"{name} vs {best}: {r['diff']:+.1f}{spread} points, {verdict} (McNemar {format_p(r['p_value'])})"
    return rows


def tied_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1 (smallest), ties sharing the mean of their ranks: scipy's ``rankdata(method="average")``
    for the handful of models a comparison holds (scipy.stats costs most of a second to import)."""
    v = np.asarray(values, dtype=float)
    return (v[:, None] > v[None, :]).sum(1) + ((v[:, None] == v[None, :]).sum(1) + 1) / 2.0


def average_ranks(table: Mapping[str, Mapping[str, float]],
                  higher_is_better: bool = True) -> Dict[str, Tuple[float, int]]:
    """{data set: {model: score}} -> {model: (average rank, wins)}, best average rank first.

    Rank 1 is the best score on a data set; tied models share the average of their ranks. A model
    is ranked only on the data sets where it has a score. ``wins`` counts data sets where the model
    has the best score, ties for first included.
    """
    ranks: Dict[str, List[float]] = {}
    wins: Dict[str, int] = {}
    for scores in table.values():
        names = [m for m, s in scores.items() if s is not None and not math.isnan(float(s))]
        if not names:
            continue
        vals = np.array([float(scores[m]) for m in names])
        r = tied_ranks(-vals if higher_is_better else vals)
        top = vals.max() if higher_is_better else vals.min()
        for m, rank, v in zip(names, r, vals):
            ranks.setdefault(m, []).append(float(rank))
            wins[m] = wins.get(m, 0) + int(v == top)
    avg = {m: (float(np.mean(rs)), wins[m]) for m, rs in ranks.items()}
    return dict(sorted(avg.items(), key=lambda kv: (kv[1][0], -kv[1][1])))


__all__ = ["mean_std", "aggregate", "mcnemar", "bootstrap_diff", "compare_to_best", "average_ranks",
           "holm", "format_p"]
