"""Forecast targets as residuals over the naive / seasonal-naive forecast."""
import numpy as np
import pytest
import torch

from archbench.data.timeseries import (
    forecast_bundle,
    forecast_metrics,
    naive_forecast,
    seasonal_naive_forecast,
    unscale,
)
from archbench.errors import UsageError

PATTERN = np.array([3.0, 5, 9, 4, 1, 0, 2, 8, 7, 6, 5, 4])


def noisy_trend(n=150, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n) + 100


def test_seasonal_residual_is_exact_on_a_purely_seasonal_series():
    b = forecast_bundle("s", np.tile(PATTERN, 12), window=24, horizon=6, test_size=30, val_size=24, season=12,
                        residual="seasonal")
    for split in ("train", "val", "test"):
        s = getattr(b, split)
        # nothing is left to learn: every target is 0 and so is the seasonal-naive forecast
        assert torch.allclose(s.y, torch.zeros_like(s.y), atol=1e-6)
        assert torch.allclose(seasonal_naive_forecast(b, split), torch.zeros_like(s.y), atol=1e-6)
        # and a model that outputs 0 scores 0 in the series' units
        assert forecast_metrics(torch.zeros_like(s.y), s.y, b)["rmse"] == pytest.approx(0, abs=1e-5)
        # inputs are relative to the window's last value
        assert torch.equal(s.x[:, -1, 0], torch.zeros(len(s)))
    # back to the series: the targets of the first test window
    t0 = int(b.extras["origins"]["test"][0])
    assert np.allclose(unscale(b.test.y, b, "test")[0].numpy(), np.tile(PATTERN, 12)[t0:t0 + 6], atol=1e-4)


@pytest.mark.parametrize("residual", ["naive", "seasonal"])
def test_residuals_change_neither_baselines_nor_errors(residual):
    series = noisy_trend()
    kw = dict(window=24, horizon=12, test_size=24, val_size=24, season=12)
    level = forecast_bundle("l", series, **kw)
    res = forecast_bundle("r", series, residual=residual, **kw)
    for split in ("train", "val", "test"):
        a, b = getattr(level, split), getattr(res, split)
        assert torch.equal(level.extras["origins"][split], res.extras["origins"][split])
        # the same targets in the series' units
        assert torch.allclose(unscale(a.y, level, split), unscale(b.y, res, split), atol=1e-3)
        # the same windows, shifted to end at 0
        assert torch.allclose(b.x, a.x - a.x[:, -1:], atol=1e-5)
    for fn in (naive_forecast, seasonal_naive_forecast):
        for split in ("val", "test"):
            m_level = forecast_metrics(fn(level, split), getattr(level, split).y, level)
            m_res = forecast_metrics(fn(res, split), getattr(res, split).y, res)
            assert m_res["rmse"] == pytest.approx(m_level["rmse"], rel=1e-4)
            assert m_res["mae"] == pytest.approx(m_level["mae"], rel=1e-4)
    # an arbitrary forecast scores the same whether it is given as a level or as a residual
    pred_level = level.test.y + 0.3 * torch.randn(level.test.y.shape, generator=torch.Generator().manual_seed(0))
    pred_res = pred_level - res.extras["offset"]["test"]
    assert forecast_metrics(pred_res, res.test.y, res)["rmse"] == pytest.approx(
        forecast_metrics(pred_level, level.test.y, level)["rmse"], rel=1e-4)


def test_naive_residual_targets_and_baseline():
    line = 2.0 * np.arange(100) + 7
    b = forecast_bundle("l", line, window=5, horizon=3, test_size=20, val_size=10, residual="naive")
    # the naive forecast is 0 in residual space; the targets are the steps since the last value
    assert torch.equal(naive_forecast(b), torch.zeros_like(b.test.y))
    std = b.extras["scaler"][1]
    assert torch.allclose(b.test.y * std, torch.tensor([2.0, 4.0, 6.0]).expand_as(b.test.y), atol=1e-4)
    assert forecast_metrics(naive_forecast(b), b.test.y, b)["mae"] == pytest.approx(4.0, rel=1e-5)
    # without a season the seasonal-naive forecast is the naive one
    assert torch.equal(seasonal_naive_forecast(b), naive_forecast(b))


def test_seasonal_residual_with_a_short_window_starts_one_season_in():
    b = forecast_bundle("s", np.tile(PATTERN, 12), window=4, horizon=3, test_size=30, val_size=24, season=12,
                        residual="seasonal")
    assert int(b.extras["origins"]["train"][0]) == 12
    assert torch.allclose(b.train.y, torch.zeros_like(b.train.y), atol=1e-6)


def test_residual_errors():
    with pytest.raises(UsageError, match="residual"):
        forecast_bundle("s", np.arange(60.0), window=4, horizon=2, test_size=10, val_size=10, residual="diff")
    b = forecast_bundle("s", np.arange(60.0), window=4, horizon=2, test_size=10, val_size=10, residual="naive")
    with pytest.raises(UsageError, match="split"):
        unscale(b.test.y, b)


@pytest.mark.data
@pytest.mark.parametrize("name", ["sunspots", "airline"])
def test_real_sets_default_residual_keeps_the_baselines(name):
    from pathlib import Path

    from archbench.data import load_data

    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (shared / "timeseries" / "forecasting").is_dir():
        pytest.skip("../shared/data/timeseries/forecasting not present")
    b = load_data(name, data_dir=str(shared))
    assert b.options["residual"] != "none"
    level = load_data(name, data_dir=str(shared), residual="none")
    assert torch.equal(b.extras["origins"]["test"], level.extras["origins"]["test"])
    for fn in (naive_forecast, seasonal_naive_forecast):
        assert forecast_metrics(fn(b), b.test.y, b)["rmse"] == pytest.approx(
            forecast_metrics(fn(level), level.test.y, level)["rmse"], rel=1e-4)


def test_forecast_recipes_take_enough_optimiser_steps():
    from archbench.models import model_entry

    # a few hundred windows (sunspots: 211) must still give ~1,000 optimiser steps
    for name in ("lstm", "transformer"):
        r = model_entry(name).recipe_for("sunspots", "forecast")
        assert (211 // r["batch_size"]) * r["epochs"] >= 1000
