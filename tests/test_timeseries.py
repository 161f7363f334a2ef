import math
from pathlib import Path

import numpy as np
import pytest
import torch

from archbench.data import load_data
from archbench.data.timeseries import (
    forecast_bundle,
    forecast_metrics,
    naive_forecast,
    read_csv_column,
    seasonal_naive_forecast,
)
from archbench.data.ucr import parse_ts, stratified_split
from archbench.errors import DataError, UsageError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_csv(path: Path, values, header=True):
    lines = (["date,value,other"] if header else []) + [f"2000-{i:03d},{v},{-i}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")


def test_csv_windowing_shapes_and_time_order(tmp_path):
    values = np.arange(100, dtype=float) ** 1.5
    write_csv(tmp_path / "s.csv", values)
    b = load_data(f"csv:{tmp_path / 's.csv'}:value", window=10, horizon=3, test_size=20, val_size=15)
    assert b.kind == "forecast" and b.task == "regression" and b.num_classes == 3 and b.input_shape == (10, 1)
    assert b.train.x.shape == (65 - 10 - 3 + 1, 10, 1) and b.train.y.shape == (53, 3)
    assert len(b.val) == 15 - 3 + 1 and len(b.test) == 20 - 3 + 1
    assert b.train.x.dtype == torch.float32 and b.test.y.dtype == torch.float32
    mean, std = b.extras["scaler"]
    assert mean == pytest.approx(values[:65].mean()) and std == pytest.approx(values[:65].std())
    # a sample is the window right before its targets
    t0 = int(b.extras["origins"]["test"][0])
    assert torch.allclose(b.test.x[0, :, 0] * std + mean, torch.tensor(values[t0 - 10:t0], dtype=torch.float32))
    assert torch.allclose(b.test.y[0] * std + mean, torch.tensor(values[t0:t0 + 3], dtype=torch.float32))
    # no leakage: every train/val target comes before every test target
    o, h = b.extras["origins"], 3
    last_train, last_val = int(o["train"].max()) + h - 1, int(o["val"].max()) + h - 1
    assert last_train < int(o["val"].min()) and last_val < int(o["test"].min())
    # the column by index, and the last column by default, read the same way
    assert torch.equal(load_data(f"csv:{tmp_path / 's.csv'}:1", window=10, horizon=3, test_size=20,
                                 val_size=15).train.x, b.train.x)


def test_scaler_sees_only_the_training_part(tmp_path):
    values = np.sin(np.arange(80) / 3.0) * 5 + 20
    kw = dict(window=8, horizon=2, test_size=0.2, val_size=0.1)
    a = forecast_bundle("a", values, **kw)
    changed = values.copy()
    changed[-5:] += 1000.0  # inside the test tail
    changed[60] -= 50.0  # inside validation
    b = forecast_bundle("b", changed, **kw)
    assert a.extras["scaler"] == b.extras["scaler"]
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.train.y, b.train.y)
    assert not torch.equal(a.test.y, b.test.y)


def test_csv_path_with_colon_quotes_and_bad_column(tmp_path):
    d = tmp_path / "a:b"
    d.mkdir()
    write_csv(d / "s.csv", range(60), header=False)
    b = load_data(f'csv:"{d / "s.csv"}":1', window=5, horizon=1, test_size=10, val_size=10)
    assert len(b.test) == 10
    write_csv(tmp_path / "t.csv", range(60))
    with pytest.raises(DataError, match="no column"):
        load_data(f"csv:{tmp_path / 't.csv'}:nope")
    with pytest.raises(UsageError, match="too short"):
        load_data(f"csv:{tmp_path / 't.csv'}:value", window=50, horizon=5)


def test_missing_csv_cells_are_interpolated(tmp_path):
    (tmp_path / "m.csv").write_text("t,v\n0,1\n1,\n2,3\n3,NA\n4,5\n")
    values, times = read_csv_column(tmp_path / "m.csv", "v")
    assert values.tolist() == [1, 2, 3, 4, 5] and times == ["0", "1", "2", "3", "4"]


def test_naive_baselines_known_answers():
    season = 12
    pattern = np.array([3.0, 5, 9, 4, 1, 0, 2, 8, 7, 6, 5, 4])
    seasonal = np.tile(pattern, 12)
    b = forecast_bundle("s", seasonal, window=24, horizon=6, test_size=30, val_size=24, season=season)
    for split in ("val", "test"):
        y = getattr(b, split).y
        assert forecast_metrics(seasonal_naive_forecast(b, split), y, b)["mae"] == pytest.approx(0, abs=1e-5)
        assert forecast_metrics(naive_forecast(b, split), y, b)["mae"] > 1
    # horizon longer than the season still looks one whole season back at most
    b = forecast_bundle("s", seasonal, window=12, horizon=18, test_size=30, val_size=24, season=season)
    assert forecast_metrics(seasonal_naive_forecast(b), b.test.y, b)["rmse"] == pytest.approx(0, abs=1e-5)

    # a straight line: the naive forecast misses by 1..h steps of the slope, in original units
    line = 2.0 * np.arange(100) + 7
    b = forecast_bundle("l", line, window=5, horizon=3, test_size=20, val_size=10)
    m = forecast_metrics(naive_forecast(b), b.test.y, b)
    assert m["mae"] == pytest.approx(2.0 * (1 + 2 + 3) / 3, rel=1e-5)
    assert m["rmse"] == pytest.approx(2.0 * math.sqrt((1 + 4 + 9) / 3), rel=1e-5)
    # without a season the seasonal naive forecast is the naive one
    assert torch.equal(seasonal_naive_forecast(b), naive_forecast(b))


TS_UNI = """# a comment
@problemName Tiny
@timeStamps false
@missing true
@univariate true
@equalLength true
@seriesLength 4
@classLabel true b a 10 2
@data
1,2,3,4:a
2,?,4,5:b
0,0,1,1:10
3,3,3,3:2
"""

TS_MULTI = """@problemName Multi
@univariate false
@dimensions 2
@equalLength false
@classLabel true x y
@data
1,2,3:10,20,30:x
4,5:40,50:y
6,7,8,9:60,70,80,90:x
"""


def test_parse_ts_univariate_missing_and_labels(tmp_path):
    (tmp_path / "Tiny_TRAIN.ts").write_text(TS_UNI)
    series, labels, header = parse_ts(tmp_path / "Tiny_TRAIN.ts")
    assert labels == ["a", "b", "10", "2"] and header["problemname"] == "Tiny"
    assert [s.shape for s in series] == [(1, 4)] * 4
    assert np.isnan(series[1][0, 1]) and series[1][0, 2] == 4


def test_parse_ts_multivariate_unequal(tmp_path):
    (tmp_path / "M_TRAIN.ts").write_text(TS_MULTI)
    series, labels, _ = parse_ts(tmp_path / "M_TRAIN.ts")
    assert [s.shape for s in series] == [(2, 3), (2, 2), (2, 4)] and labels == ["x", "y", "x"]
    assert series[2][1].tolist() == [60, 70, 80, 90]
    (tmp_path / "bad.ts").write_text("1,2,3:x\n")
    with pytest.raises(DataError):
        parse_ts(tmp_path / "bad.ts")


def test_ucr_loader_pads_normalises_and_maps_labels(tmp_path):
    d = tmp_path / "M"
    d.mkdir()
    train = TS_MULTI + "".join(f"{i},{i + 1}:{i * 10},{i * 10 + 5}:{'xy'[i % 2]}\n" for i in range(7))
    (d / "M_TRAIN.ts").write_text(train)
    (d / "M_TEST.ts").write_text(TS_MULTI)
    b = load_data(f"ucr:{d}", val_fraction=0.2)
    assert b.kind == "sequence" and b.class_names == ["x", "y"] and b.num_classes == 2
    assert b.train.x.shape[1:] == (4, 2) and b.test.x.shape == (3, 4, 2) and b.input_shape == (4, 2)
    assert len(b.train) + len(b.val) == 10 and len(b.val) >= 1
    assert set(b.train.y.tolist()) == {0, 1}
    assert b.test.y.tolist() == [0, 1, 0]
    assert b.extras["lengths"]["test"].tolist() == [3, 2, 4]
    assert (b.test.x[1, 2:] == 0).all()  # padding is zero after normalising
    # the same data by file name and by NAME under a data dir
    assert torch.equal(load_data(f"ucr:{d / 'M_TEST.ts'}").test.x, b.test.x)
    assert torch.equal(load_data("ucr:M", data_dir=str(tmp_path)).test.x, b.test.x)
    with pytest.raises(DataError, match="not found"):
        load_data("ucr:Nope", data_dir=str(tmp_path))


def test_stratified_split_keeps_every_class_in_train():
    y = torch.tensor([0] * 10 + [1] * 10 + [2] * 1 + [3] * 2)
    tr, va = stratified_split(y, 0.5, seed=0)
    assert sorted(torch.cat([tr, va]).tolist()) == list(range(len(y)))
    assert set(y[tr].tolist()) == {0, 1, 2, 3}
    assert y[va].bincount(minlength=4).tolist() == [5, 5, 0, 1]
    assert torch.equal(stratified_split(y, 0.5, seed=0)[1], va)


@pytest.mark.data
@pytest.mark.parametrize("name,train,test,shape,classes", [
    ("GunPoint", 50, 150, (150, 1), 2),
    ("ItalyPowerDemand", 67, 1029, (24, 1), 2),
    ("BasicMotions", 40, 40, (100, 6), 4),
    ("JapaneseVowels", 270, 370, (29, 12), 9),
])
def test_real_ucr_sets(name, train, test, shape, classes):
    if not (SHARED / "timeseries" / "ucr" / name).is_dir():
        pytest.skip("../shared/data/timeseries/ucr not present")
    b = load_data(f"ucr:{name}", data_dir=str(SHARED))
    assert len(b.train) + len(b.val) == train and len(b.test) == test
    assert tuple(b.train.x.shape[1:]) == shape and b.num_classes == classes
    assert b.train.y.bincount(minlength=classes).min() >= 1
    assert torch.isfinite(b.train.x).all() and torch.isfinite(b.test.x).all()
    lengths = b.extras["lengths"]
    assert int(lengths["test"].max()) <= shape[0]
    if name == "JapaneseVowels":
        assert int(torch.cat([lengths["train"], lengths["test"]]).min()) == 7


@pytest.mark.data
@pytest.mark.parametrize("name,steps", [("sunspots", 309), ("co2", 2284), ("airline", 144)])
def test_real_forecast_sets(name, steps):
    if not (SHARED / "timeseries" / "forecasting").is_dir():
        pytest.skip("../shared/data/timeseries/forecasting not present")
    b = load_data(name, data_dir=str(SHARED))
    assert len(b.extras["series"]) == steps and np.isfinite(b.extras["series"]).all()
    assert b.train.y.shape[1] == b.num_classes == b.options["horizon"]
    naive = forecast_metrics(naive_forecast(b), b.test.y, b)
    seasonal = forecast_metrics(seasonal_naive_forecast(b), b.test.y, b)
    assert seasonal["mae"] < naive["mae"]  # each of these series is seasonal
