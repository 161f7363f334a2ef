"""The forecast-vs-actual figure."""
import numpy as np
import pytest
import torch

from archbench.data.timeseries import forecast_bundle, seasonal_naive_forecast
from archbench.viz.forecast import forecast_figure, plot_forecast


def windows(series: np.ndarray, horizon: int) -> np.ndarray:
    return np.stack([series[i:i + horizon] for i in range(len(series) - horizon + 1)])


def test_plot_forecast_writes_png_and_entry(tmp_path):
    tail = 50 + 20 * np.sin(np.arange(30) / 2.0)
    y = windows(tail, 6)
    model = y + 1.0
    base = {"seasonal naive": y + 3.0, "naive": y - 5.0}
    times = [str(1970 + i) for i in range(30)]
    path, entry = plot_forecast(torch.tensor(y), torch.tensor(model), base, 6, tmp_path / "f.png", times=times,
                                model="lstm", data="toy")
    assert path.is_file() and path.stat().st_size > 10_000
    assert entry["file"] == "f.png" and entry["title"]
    # the caption carries the numbers: RMSE 1 for the model against 3 for the seasonal naive
    assert "RMSE is 1 " in entry["caption"] and "3 for the seasonal naive" in entry["caption"]
    assert "beats" in entry["caption"] and "does not" not in entry["caption"]


def test_plot_forecast_one_step_and_bad_shapes(tmp_path):
    y = np.arange(20.0)[:, None]
    path, entry = plot_forecast(y, y + 2, {"naive": y - 1}, 1, tmp_path / "one.png")
    assert path.is_file() and "does not beat" in entry["caption"]
    with pytest.raises(ValueError, match="horizon"):
        plot_forecast(y, y, {}, 3, tmp_path / "bad.png")
    with pytest.raises(ValueError):
        plot_forecast(y, y[:-1], {}, 1, tmp_path / "bad.png")


@pytest.mark.parametrize("residual", ["none", "seasonal"])
def test_forecast_figure_from_a_bundle(tmp_path, residual):
    series = 100 + 10 * np.tile([3.0, 5, 9, 4, 1, 0, 2, 8, 7, 6, 5, 4], 10)
    b = forecast_bundle("toy", series, window=12, horizon=4, test_size=24, val_size=12, season=12, residual=residual)
    # outputs equal to the seasonal-naive forecast: exact on this series, in either target space
    entry = forecast_figure(b, seasonal_naive_forecast(b, "test"), tmp_path, model="copy")
    assert (tmp_path / "forecast.png").is_file() and entry["file"] == "forecast.png"
    assert "RMSE is 0 " in entry["caption"]


def test_a_forecast_run_draws_its_forecast(tmp_path):
    import json
    import math

    from archbench import TrainConfig, train_model

    rows = "\n".join(f"{i},{10 + math.sin(i / 3):.4f}" for i in range(160))
    (tmp_path / "s.csv").write_text("t,value\n" + rows + "\n")
    cfg = TrainConfig(model="lstm", data=f"csv:{tmp_path / 's.csv'}:value", out=str(tmp_path / "run"),
                      progress="none", threads=1, epochs=2)
    res = train_model(cfg, {"window": 12, "horizon": 3, "test_size": 30, "val_size": 20})
    figures = json.loads((res.run_dir / "figures.json").read_text())
    assert "forecast.png" in [f["file"] for f in figures] and (res.run_dir / "forecast.png").exists()
