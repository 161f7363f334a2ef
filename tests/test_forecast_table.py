"""Forecast comparisons: significance in the series' units (as the table), naive baselines in the table."""
from archbench.experiment.compare_tables import paired_errors, summarise, table


def write(d, name, errs, series=True):
    (d / name).mkdir()
    head = "index,abs_error,abs_error_series" if series else "index,abs_error"
    lines = [f"{i},{e / 50:.6f}" + (f",{e:.6g}" if series else "") for i, e in enumerate(errs)]
    (d / name / "predictions.csv").write_text(head + "\n" + "\n".join(lines) + "\n")
    return {"model": name, "run_dir": name}


def test_paired_errors_in_series_units_and_old_runs_in_scaled_units(tmp_path):
    rows = [write(tmp_path, "gru", [40.0 + i for i in range(12)]), write(tmp_path, "lstm", [60.0 + i for i in range(12)])]
    res = paired_errors(tmp_path, rows)
    assert "45.5, series units, as the table" in res["gru"] and "+20 mean absolute error, significant" in res["lstm"]
    old = tmp_path / "old"
    old.mkdir()
    rows = [write(old, "gru", [40.0 + i for i in range(12)], series=False), write(old, "lstm", [60.0 + i for i in range(12)])]
    assert "scaled units" in paired_errors(old, rows)["gru"]


def test_the_forecast_table_shows_the_naive_baselines():
    s = summarise([{"data": "airline", "model": "gru", "test_mae": 50.3, "naive_mae": 77.8, "seasonal_naive_mae": 51.5}],
                  ["data", "model"])
    header, body = table(s, ["data", "model"])
    assert header[2:] == ["Test MAE", "Naive MAE", "Seasonal-naive MAE"] and body[0][2:] == ["50.3000", "77.8000", "51.5000"]
