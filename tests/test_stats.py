import math

import numpy as np
import pytest

from archbench.errors import ArchbenchError
from archbench.report.stats import aggregate, average_ranks, bootstrap_diff, compare_to_best, holm, mcnemar, mean_std


def test_mean_std_matches_hand_values():
    m, s = mean_std([1.0, 2.0, 3.0, 4.0])
    assert m == pytest.approx(2.5)
    assert s == pytest.approx(math.sqrt(5.0 / 3.0))  # sum of squares 5, ddof=1
    assert mean_std([7.0]) == (7.0, 0.0)
    assert all(math.isnan(v) for v in mean_std([]))


def test_aggregate_groups_per_seed_rows():
    rows = [
        {"model": "gru", "data": "mnist", "seed": 0, "acc": 98.0, "time": 10.0},
        {"model": "lstm", "data": "mnist", "seed": 0, "acc": 97.0, "time": 12.0},
        {"model": "gru", "data": "mnist", "seed": 1, "acc": 99.0, "time": 11.0},
        {"model": "lstm", "data": "mnist", "seed": 1, "acc": 96.0, "time": None},
        {"model": "gru", "data": "mnist", "seed": 2, "acc": 97.0, "time": 12.0},
    ]
    out = aggregate(rows, ["model", "data"], ["acc", "time"])
    assert [(r["model"], r["n"]) for r in out] == [("gru", 3), ("lstm", 2)]
    gru, lstm = out
    assert gru["acc_mean"] == pytest.approx(98.0) and gru["acc_std"] == pytest.approx(1.0)
    assert lstm["acc_mean"] == pytest.approx(96.5) and lstm["acc_std"] == pytest.approx(math.sqrt(0.5))
    assert lstm["time_mean"] == 12.0 and lstm["time_std"] == 0.0  # the None is left out


def test_mcnemar_identical_predictions_not_significant():
    a = np.random.default_rng(0).random(500) < 0.8
    r = mcnemar(a, a.copy())
    assert r["b01"] == r["b10"] == 0 and r["p_value"] == 1.0


def test_mcnemar_many_one_sided_discordant_is_significant():
    a = np.ones(1000, bool)
    b = np.ones(1000, bool)
    b[:60] = False  # A right, B wrong on 60
    a[60:65] = False  # A wrong, B right on 5
    r = mcnemar(a, b)
    assert (r["b10"], r["b01"]) == (60, 5)
    assert r["method"].startswith("chi-square")
    assert r["statistic"] == pytest.approx((55 - 1) ** 2 / 65)
    assert r["p_value"] < 0.001
    assert mcnemar(b, a)["p_value"] == pytest.approx(r["p_value"])  # symmetric


def test_mcnemar_exact_below_25_discordant():
    a = np.zeros(100, bool)
    b = np.zeros(100, bool)
    a[:10] = True  # 10 vs 0 discordant -> exact p = 2 * 0.5**10
    r = mcnemar(a, b)
    assert r["method"] == "exact binomial"
    assert r["p_value"] == pytest.approx(2 * 0.5 ** 10)
    b[10:15] = True  # 10 vs 5: two-sided binomial
    from scipy.stats import binomtest
    assert mcnemar(a, b)["p_value"] == pytest.approx(binomtest(5, 15, 0.5).pvalue)


@pytest.mark.parametrize("b01,b10", [(0, 1), (3, 9), (12, 12), (0, 24), (25, 0), (40, 61), (300, 250)])
def test_mcnemar_p_values_are_scipys(b01, b10):
    """Without importing scipy at run time: the exact binomial and the chi-square tail as scipy gives them."""
    from scipy import stats as sps

    a = np.array([False] * b01 + [True] * b10 + [True] * 7)
    b = np.array([True] * b01 + [False] * b10 + [True] * 7)
    n, k = b01 + b10, min(b01, b10)
    r = mcnemar(a, b)
    if n < 25:
        want = min(1.0, 2.0 * sps.binom.cdf(k, n, 0.5))
    else:
        want = sps.chi2.sf((abs(b01 - b10) - 1.0) ** 2 / n, 1)
    assert r["p_value"] == pytest.approx(want, rel=1e-10, abs=1e-300)


def test_tied_ranks_are_scipys_average_ranks():
    from scipy.stats import rankdata

    from archbench.report.stats import tied_ranks

    rng = np.random.default_rng(0)
    for values in ([3.0], [1.0, 1.0, 1.0], [0.5, 0.2, 0.5, 0.9, 0.2], rng.integers(0, 4, 12).astype(float)):
        assert np.array_equal(tied_ranks(values), rankdata(values, method="average"))


def test_mcnemar_rejects_unpaired():
    with pytest.raises(ArchbenchError, match="same test examples"):
        mcnemar(np.ones(10, bool), np.ones(11, bool))


def test_bootstrap_ci_contains_true_difference():
    rng = np.random.default_rng(1)
    n = 4000
    a = rng.random(n) < 0.90
    b = a.copy()
    flip = rng.random(n) < 0.10  # B differs from A on ~10% of examples, mostly for the worse
    b[flip] = rng.random(flip.sum()) < 0.3
    r = bootstrap_diff(a, b, n_boot=2000, seed=0)
    true = 100.0 * (a.mean() - b.mean())
    assert r["diff"] == pytest.approx(true)
    assert r["low"] < true < r["high"]
    assert 0 < r["high"] - r["low"] < 3.0
    assert bootstrap_diff(a, b, seed=0) == r  # seeded
    # identical predictions: a degenerate interval at 0
    assert bootstrap_diff(a, a) == {"diff": 0.0, "low": 0.0, "high": 0.0}


def test_bootstrap_matches_index_resampling():
    rng = np.random.default_rng(3)
    a, b = rng.random(300) < 0.7, rng.random(300) < 0.6
    r = bootstrap_diff(a, b, n_boot=4000, seed=1)
    idx = rng.integers(0, 300, size=(4000, 300))
    direct = 100.0 * (a[idx].mean(1) - b[idx].mean(1))
    lo, hi = np.percentile(direct, [2.5, 97.5])
    assert r["low"] == pytest.approx(lo, abs=1.0) and r["high"] == pytest.approx(hi, abs=1.0)


def test_compare_to_best_single_and_multi_seed():
    rng = np.random.default_rng(2)
    n = 2000
    truth = rng.random(n) < 0.9
    strong = [truth.copy() for _ in range(3)]
    weak = [t.copy() for t in strong]
    for s, w in enumerate(weak):
        w[s * 100:(s + 1) * 100 + 50] = False  # 150 extra errors per seed
    near = [t.copy() for t in strong]
    near[0][:2] = ~near[0][:2]  # essentially the same model
    res = compare_to_best({"weak": weak, "strong": strong, "near": near})
    assert list(res)[0] == "strong" and res["strong"]["best"] == "strong"
    w = res["weak"]
    assert w["n_seeds"] == 3
    assert w["diff"] == pytest.approx(np.mean([100 * (x.mean() - y.mean()) for x, y in zip(weak, strong)]))
    assert w["diff"] < -4 and w["significant"] and w["p_value"] < 0.001
    assert w["text"].startswith("weak vs strong: -") and " ± " in w["text"] and "significant (McNemar p<0.001)" in w["text"]
    assert not res["near"]["significant"] and "not significant" in res["near"]["text"]
    assert res["near"]["p_holm"] >= res["near"]["p_value"]
    one = compare_to_best({"a": strong[0], "b": weak[0]})
    assert one["b"]["diff"] == pytest.approx(100 * (weak[0].mean() - strong[0].mean()))
    assert "±" not in one["b"]["text"]
    with pytest.raises(ArchbenchError, match="different test sets"):
        compare_to_best({"a": strong[0], "b": strong[0][:10]})


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_average_ranks_small_table():
    table = {
        "d1": {"cnn": 0.9, "gru": 0.8, "mlp": 0.7},
        "d2": {"cnn": 0.6, "gru": 0.6, "mlp": 0.9},  # cnn and gru tie for 2nd: 2.5 each
        "d3": {"cnn": 0.5, "gru": 0.7, "mlp": 0.7},  # gru and mlp tie for 1st: 1.5 each
    }
    r = average_ranks(table)
    assert r["cnn"] == pytest.approx(((1 + 2.5 + 3) / 3, 1))
    assert r["gru"] == pytest.approx(((2 + 2.5 + 1.5) / 3, 1))
    assert r["mlp"] == pytest.approx(((3 + 1 + 1.5) / 3, 2))
    assert list(r) == ["mlp", "gru", "cnn"]
    low = average_ranks({"d": {"a": 0.1, "b": 0.2}}, higher_is_better=False)
    assert low["a"] == (1.0, 1)
