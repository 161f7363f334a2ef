import time
from pathlib import Path

import numpy as np
import pytest
import torch

from archbench.baselines import BagOfWords, fit_bow, run_baseline, run_bow
from archbench.data.text import text_bundle
from archbench.data.timeseries import forecast_bundle
from archbench.errors import UsageError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

GOOD = ["good", "great", "lovely", "excellent", "wonderful"]
BAD = ["bad", "awful", "boring", "terrible", "dreadful"]
FILL = ["the film was", "this movie is", "i think it is", "overall quite", "the plot felt"]


def separable(n, seed):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        y = i % 2
        texts.append(f"{FILL[rng.integers(5)]} {(GOOD if y else BAD)[rng.integers(5)]}")
        labels.append(y)
    return texts, labels


def test_bow_on_separable_texts_is_perfect():
    tr_x, tr_y = separable(120, 0)
    te_x, te_y = separable(40, 1)
    b = text_bundle("toy", tr_x, tr_y, te_x, te_y, seed=0, max_len=16, min_freq=1, max_vocab=1000,
                    val_fraction=0.2)
    r = run_bow(b, seed=0)
    assert r["test_accuracy"] == 1.0 and r["val_accuracy"] == 1.0
    assert r["predictions"].tolist() == te_y
    assert r["probabilities"].shape == (40, 2)
    assert torch.allclose(r["probabilities"].sum(1), torch.ones(40))
    assert r["train_seconds"] > 0 and r["params"]["C"] in (1.0, 4.0, 16.0)
    # from raw texts, and from token ids when the raw texts are gone
    m = fit_bow(tr_x, tr_y)
    assert (m.predict(te_x) == np.array(te_y)).all()
    del b.extras["texts"]
    assert run_bow(b)["test_accuracy"] == 1.0


def test_bow_needs_fit_and_text():
    with pytest.raises(UsageError):
        BagOfWords().predict(["x"])
    f = forecast_bundle("f", np.arange(50.0), window=4, horizon=1, test_size=10, val_size=5)
    with pytest.raises(UsageError):
        run_bow(f)


def test_forecast_baselines_report_both():
    series = np.tile([1.0, 4.0, 2.0, 8.0], 30)
    f = forecast_bundle("f", series, window=8, horizon=2, test_size=20, val_size=12, season=4)
    r = run_baseline(f)
    assert set(r) == {"naive", "seasonal_naive"}
    assert r["seasonal_naive"]["test_mae"] == pytest.approx(0, abs=1e-5)
    assert r["naive"]["test_rmse"] > 1 and r["naive"]["predictions"].shape == f.test.y.shape


@pytest.mark.data
@pytest.mark.slow
def test_bow_on_real_sst2():
    if not (SHARED / "sst2" / "train.tsv").is_file():
        pytest.skip("../shared/data/sst2 not present")
    from archbench.data import load_data

    b = load_data("sst2", data_dir=str(SHARED))
    start = time.perf_counter()
    r = run_bow(b)
    assert r["test_accuracy"] >= 0.80, r["test_accuracy"]
    assert time.perf_counter() - start < 120
