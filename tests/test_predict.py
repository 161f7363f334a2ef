"""`archbench predict` and `evaluate` on real run directories: images and raw text."""
import json

import numpy as np
import pytest
from helpers import cli, run_cli
from PIL import Image


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cnn"
    res = run_cli("train", "cnn", "--data", "digits", "--epochs", "10", "--threads", "1", "--progress", "none", "--device", "cpu",
                  "--augment", "none", "--out", out)
    assert res.returncode == 0, res.stderr
    return out


def test_evaluate_matches_metrics(digits_run):
    res = cli("evaluate", digits_run, "--json", "--device", "cpu")
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    want = json.loads((digits_run / "metrics.json").read_text())
    assert got["test_accuracy"] == pytest.approx(want["test_accuracy"], abs=1e-9)


def test_predict_images(digits_run, tmp_path):
    from sklearn.datasets import load_digits

    d = load_digits()
    paths = []
    for i in range(4):
        p = tmp_path / f"d{i}.png"
        Image.fromarray(np.clip(d.images[i] * 16, 0, 255).astype(np.uint8)).save(p)
        paths.append(p)
    res = cli("predict", digits_run, *paths, "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    # the files go through the same preprocessing as the data set: same predictions as in-process
    import torch

    from archbench import load_data
    from archbench.train.checkpoint import load_model

    model = load_model(digits_run).eval()
    bundle = load_data("digits")
    x = torch.from_numpy(np.clip(d.images[:4] * 16, 0, 255).astype(np.uint8)).unsqueeze(1)
    with torch.inference_mode():
        probs = model(bundle.preprocess(x)).softmax(1)
    assert [r["label"] for r in rows] == [str(int(i)) for i in probs.argmax(1)]
    assert [r["probability"] for r in rows] == pytest.approx(probs.max(1).values.tolist(), abs=1e-5)
    assert sum(r["label"] == str(t) for r, t in zip(rows, d.target[:4])) >= 3  # and it reads digits


def test_predict_errors(digits_run, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    res = cli("predict", digits_run, bad)
    assert res.returncode == 1 and "cannot read image" in res.stderr and "Traceback" not in res.stderr
    res = cli("predict", digits_run, "--text", "great film")
    assert res.returncode == 2 and "text run" in res.stderr


def write_imdb(root, n=12):
    pos = ["a wonderful moving film , brilliant acting", "great story and superb cast", "loved it , truly great"]
    neg = ["a dull boring mess , awful acting", "terrible plot and bad cast", "hated it , truly awful"]
    for split in ("train", "test"):
        for label, texts in (("pos", pos), ("neg", neg)):
            d = root / "aclImdb" / split / label
            d.mkdir(parents=True)
            for i in range(n):
                (d / f"{i}_7.txt").write_text(texts[i % 3] + f" <br /> review {i}")


def test_predict_text(tmp_path):
    write_imdb(tmp_path / "data")
    out = tmp_path / "run"
    res = run_cli("train", "gru", "--data", "imdb", "--data-dir", tmp_path / "data", "--epochs", "15",
                  "--batch-size", "8", "--lr", "0.01", "--threads", "1", "--progress", "none", "--out", out,
                  "--set", "download=false", "--set", "min_freq=1")
    assert res.returncode == 0, res.stderr
    assert (out / "vocab.json").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert m["tokens_per_s"] > m["samples_per_s"] > 0  # reviews are longer than one token
    res = cli("predict", out, "--text", "a wonderful film , great cast", "--text", "an awful boring mess", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["label"] for r in rows] == ["positive", "negative"]


def test_bow_baseline_in_compare(tmp_path):
    write_imdb(tmp_path / "data")
    out = tmp_path / "cmp"
    res = run_cli("compare", "bow", "gru", "--data", "imdb", "--data-dir", tmp_path / "data", "--budget", "epochs=2",
                  "--threads", "1", "--set", "download=false", "--set", "min_freq=1", "--out", out)
    assert res.returncode == 0, res.stderr
    table = (out / "comparison.md").read_text()
    assert "| imdb | bow |" in table and "| imdb | gru |" in table
    m = json.loads((out / "runs" / "imdb" / "bow-s0" / "metrics.json").read_text())
    assert m["test_accuracy"] == 1.0  # the tiny reviews are separable by their words


@pytest.mark.parametrize("file,text,needle", [
    ("archbench.json", "null", "expected a JSON object"),
    ("archbench.json", "{}", "names no directory type"),
    ("config.json", "[]", "expected a JSON object"),
    ("config.json", "{}", "no training settings"),
    ("model.json", "{}", "no 'name'"),
])
def test_damaged_json_in_a_run_is_one_line_and_loses_nothing(digits_run, tmp_path, file, text, needle):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(digits_run, run)
    (run / file).write_text(text)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    # a finished run's resume reads archbench.json, config.json and metrics.json, not model.json
    commands = [["evaluate", run]] + ([] if file == "model.json" else [["train", "--resume", run]])
    for args in commands:
        res = cli(*args)
        assert res.returncode != 0 and needle in res.stderr, (args, res.stderr)
        assert "Traceback" not in res.stderr and "ARCHBENCH_DEBUG" not in res.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
