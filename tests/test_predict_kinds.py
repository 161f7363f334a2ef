"""`archbench predict` for every kind: image folders, texts (string, file, CSV column), series rows,
forecasts past the end of a series, and the bag-of-words baseline (predict, evaluate, explain, export)."""
import csv
import json

import numpy as np
import pytest
import torch
from helpers import cli


def train(out, model, data, epochs=1, data_dir=None, **data_args):
    """A tiny run, in this process (the CLI's own parsing is covered by the predict calls)."""
    from archbench import TrainConfig, train_model

    train_model(TrainConfig(model=model, data=data, data_dir=None if data_dir is None else str(data_dir),
                            data_args=data_args, epochs=epochs, threads=1, progress="none", device="cpu",
                            out=str(out)))
    return out
GOOD = ["a good film", "great acting and a fine story", "good fun", "a great cast", "fine and good"]
BAD = ["a bad film", "awful acting and a poor story", "bad fun", "an awful cast", "poor and bad"]


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory):
    """A tiny SST-2-format data set: train.tsv + dev.tsv (the test split)."""
    root = tmp_path_factory.mktemp("text") / "SST-2"
    root.mkdir()
    rows = [(t, 1) for t in GOOD] + [(t, 0) for t in BAD]
    body = "".join(f"{t}\t{y}\n" for t, y in rows)
    (root / "train.tsv").write_text("sentence\tlabel\n" + body * 8, encoding="utf-8")
    (root / "dev.tsv").write_text("sentence\tlabel\n" + body, encoding="utf-8")
    return root.parent


@pytest.fixture(scope="module")
def bow_run(text_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "bow"
    return train(out, "bow", "sst2", data_dir=text_dir, min_freq=1)


def test_bow_predict_evaluate_explain_export(bow_run, tmp_path):
    texts = tmp_path / "t.txt"
    texts.write_text("a good cast\nan awful story\n", encoding="utf-8")
    res = cli("predict", bow_run, "--text", "great and fine", "--text-file", texts, "--json")
    assert res.returncode == 0, res.stderr
    assert [r["label"] for r in json.loads(res.stdout)] == ["positive", "positive", "negative"]
    # evaluate refits from the run's data and seed: the run's own test accuracy
    res = cli("evaluate", bow_run, "--json")
    assert res.returncode == 0, res.stderr
    want = json.loads((bow_run / "metrics.json").read_text())["test_accuracy"]
    assert json.loads(res.stdout)["test_accuracy"] == pytest.approx(want, abs=1e-12)
    for cmd, words in (("explain", "baseline"), ("export", "not exportable")):
        res = cli(cmd, bow_run)
        assert res.returncode != 0 and words in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1


def test_text_run_csv_column(text_dir, tmp_path):
    out = tmp_path / "gru"
    train(out, "gru", "sst2", data_dir=text_dir, min_freq=1)
    table = tmp_path / "in.csv"
    with open(table, "w", newline="") as f:
        csv.writer(f).writerows([["id", "review"], ["1", "a good film"], ["2", "awful, poor"]])
    res = cli("predict", out, "--csv", table, "--column", "review", "--top", "2", "--format", "csv",
                  "--output", tmp_path / "p.csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(open(tmp_path / "p.csv")))
    assert [r["input"] for r in rows] == ["a good film", "awful, poor"]
    assert {r["label"] for r in rows} <= {"negative", "positive"}
    assert all(abs(float(r["probability"]) + float(r["probability_2"]) - 1) < 1e-5 for r in rows)
    # the same rows as the model in-process
    from archbench.experiment.predict import encode_texts
    from archbench.rundir import read_run_config
    from archbench.train.checkpoint import load_model

    x = encode_texts(out, ["a good film", "awful, poor"], read_run_config(out)["data"])
    with torch.inference_mode():
        p = load_model(out).eval()(x).softmax(1)
    assert [float(r["probability"]) for r in rows] == pytest.approx(p.max(1).values.tolist(), abs=1e-5)
    res = cli("predict", out, "--csv", table, "--column", "nope")
    assert res.returncode != 0 and "no column 'nope'" in res.stderr and "Traceback" not in res.stderr


def test_image_folder(tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    out = tmp_path / "mlp"
    train(out, "mlp", "digits")
    d = load_digits()
    folder = tmp_path / "imgs" / "sub"
    folder.mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.clip(d.images[i] * 16, 0, 255).astype(np.uint8)).save(folder / f"{i}.png")
    res = cli("predict", out, tmp_path / "imgs", "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["input"].rsplit("/", 1)[-1] for r in rows] == ["0.png", "1.png", "2.png"]
    (tmp_path / "empty").mkdir()
    res = cli("predict", out, tmp_path / "empty")  # a folder without images
    assert res.returncode != 0 and "no image files" in res.stderr


def test_sequence_rows(tmp_path):
    out = tmp_path / "gru"
    train(out, "gru", "seq-sum", epochs=3, n_samples=400, seq_len=10)
    g = np.random.default_rng(0)
    x = g.normal(size=(6, 10)) + np.array([2.0, -2.0] * 3)[:, None]  # clearly positive / negative sums
    path = tmp_path / "s.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([[f"s{i}", *row] for i, row in enumerate(x.round(4))])
    res = cli("predict", out, "--csv", path, "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["input"] for r in rows] == [f"s{i}" for i in range(6)]
    from archbench.train.checkpoint import load_model

    with torch.inference_mode():
        p = load_model(out).eval()(torch.tensor(x.round(4), dtype=torch.float32)[..., None]).softmax(1)
    assert [r["probability"] for r in rows] == pytest.approx(p.max(1).values.tolist(), abs=1e-5)
    path.write_text("1,2,3," + ",".join(["0"] * 10) + "\n")  # 13 numbers: longer than the run's series
    res = cli("predict", out, "--csv", path)
    assert res.returncode != 0 and "line 1" in res.stderr and "Traceback" not in res.stderr


def test_forecast_past_the_end(tmp_path):
    t = np.arange(200)
    series = 10 + np.sin(2 * np.pi * t / 12) + 0.01 * t
    path = tmp_path / "y.csv"
    path.write_text("t,y\n" + "".join(f"{i},{v:.5f}\n" for i, v in zip(t, series)))
    out = tmp_path / "gru"
    train(out, "gru", f"csv:{path}:y", epochs=2, window=12, horizon=3)
    res = cli("predict", out, "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["step"] for r in rows] == [1, 2, 3] and all(r["after"] == "199" for r in rows)
    # the forecast is the model on the series' last window, in the series' units
    from archbench import load_data
    from archbench.train.checkpoint import load_model

    b = load_data(f"csv:{path}:y", window=12, horizon=3)
    mean, std = b.extras["scaler"]
    x = torch.tensor((series[-12:] - mean) / std, dtype=torch.float32)[None, :, None]
    with torch.inference_mode():
        want = load_model(out).eval()(x)[0].double() * std + mean
    assert [r["forecast"] for r in rows] == pytest.approx(want.tolist(), abs=1e-4)
    # another series (here: the first 100 steps) forecast with the run's scaling
    short = tmp_path / "short.csv"
    short.write_text("t,y\n" + "".join(f"{i},{v:.5f}\n" for i, v in zip(t[:100], series[:100])))
    from archbench.experiment.predict import predict_run, write_predictions

    text = write_predictions(predict_run(out, csv=str(short), column="y"), "csv")
    got = list(csv.DictReader(text.splitlines()))
    assert len(got) == 3 and got[0]["after"] == "99"
