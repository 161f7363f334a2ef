"""Own series: exogenous input columns for csv: forecasting, and series: classification from a CSV
in wide (one row per series) or long (id column) format."""
import csv
import math
import random

import pytest
import torch

from archbench.data import load_data
from archbench.errors import DataError


def write_forecast(path, n=200):
    rng = random.Random(0)
    temp = [math.sin(i / 5) + rng.gauss(0, 0.1) for i in range(n)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "temp", "sales"])
        for i in range(n):
            w.writerow([i, round(temp[i], 3), round(2 * temp[i - 1] if i else 0.0, 3)])
    return path


def test_exogenous_inputs_are_extra_channels(tmp_path):
    p = write_forecast(tmp_path / "f.csv")
    plain = load_data(f"csv:{p}:sales", window=8)
    both = load_data(f"csv:{p}:sales", window=8, inputs="temp")
    assert plain.train.x.shape[2] == 1 and both.train.x.shape[2] == 2 and both.input_shape == (8, 2)
    assert torch.equal(both.train.x[..., 0], plain.train.x[..., 0]) and torch.equal(both.test.y, plain.test.y)
    # channel 1 is temp over the same window, scaled with the training part's statistics only
    val_start = both.extras["cuts"][0]
    import numpy as np
    temp = np.array([float(r[1]) for r in list(csv.reader(open(p)))[1:]])
    t0 = int(both.extras["origins"]["train"][0])
    want = (temp[t0 - 8:t0] - temp[:val_start].mean()) / temp[:val_start].std()
    assert torch.allclose(both.train.x[0, :, 1], torch.tensor(want, dtype=torch.float32), atol=1e-5)
    with pytest.raises(DataError, match="no column 'rain'"):
        load_data(f"csv:{p}:sales", inputs="rain")


def test_series_wide_and_long(tmp_path):
    rng = random.Random(1)
    wide = tmp_path / "wide.csv"
    with open(wide, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label"] + [f"t{i}" for i in range(20)])
        for n in range(60):
            c = n % 3
            steps = 20 if n % 4 else 14  # shorter series leave trailing gaps
            w.writerow([["up", "down", "flat"][c]] + [round(i * (1, -1, 0)[c] / 10 + rng.gauss(0, 0.2), 3)
                                                      for i in range(steps)] + [""] * (20 - steps))
    b = load_data(f"series:{wide}")
    assert b.kind == "sequence" and b.class_names == ["down", "flat", "up"] and b.input_shape == (20, 1)
    assert b.test.y.bincount().tolist() == [4, 4, 4]  # stratified: 20% of each class
    lengths = torch.cat([b.extras["lengths"][s] for s in ("train", "val", "test")])
    assert sorted(set(lengths.tolist())) == [14, 20]
    long = tmp_path / "long.csv"
    with open(long, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "step", "a", "b", "class"])
        for n in range(40):
            for i in reversed(range(10 + n % 5)):  # rows out of time order: the step column orders them
                w.writerow([f"s{n}", i, i * (n % 2), rng.gauss(0, 1), "ab"[n % 2]])
    s = load_data(f"series:{long}")
    assert s.input_shape == (14, 2) and len(s.train) + len(s.val) + len(s.test) == 40
    one = s.train.x[0, : int(s.extras["lengths"]["train"][0]), 0]
    assert bool((one[1:] >= one[:-1]).all()) or bool((one[1:] <= one[:-1]).all())  # in step order
    rows = list(csv.reader(open(long)))
    rows[3][4] = "b" if rows[3][4] == "a" else "a"
    with open(long, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(DataError, match=r"long.csv:4: series 's0' has more than one label"):
        load_data(f"series:{long}")
