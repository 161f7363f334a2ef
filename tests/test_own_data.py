"""Own text and tables: loaders (shapes, splits, labels, bad rows, one-line errors), the table
baselines as runs and in compare's table, the new scores. All data is made here, small."""
import csv
import json
import random

import numpy as np
import pytest
import torch
from helpers import run_cli

from archbench.data import load_data
from archbench.data.splits import three_way
from archbench.errors import DataError, UsageError
from archbench.train.scores import classification_scores, regression_scores


def write_table(path, n=240, seed=0, gaps=0.1):
    rng = random.Random(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["age", "city", "income", "label"])
        for _ in range(n):
            age, city = rng.randint(18, 80), rng.choice(["north", "south", "east"])
            income = "" if rng.random() < gaps else round(rng.gauss(50, 10), 1)
            # 3:1 imbalanced classes, a rule over a number and a category
            w.writerow([age, city, income, "yes" if age > 62 or (city == "east" and age > 55) else "no"])
    return path


def write_text_csv(path, n=180, seed=0):
    rng = random.Random(seed)
    words = {"good": ["great", "lovely", "superb"], "bad": ["awful", "dull", "poor"], "so-so": ["okay", "plain"]}
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "review", "stars"])
        for i in range(n):
            lab = rng.choice(list(words))
            text = " ".join(rng.choice(words[lab] + ["the", "film", "was"]) for _ in range(rng.randint(3, 9)))
            w.writerow([i, text + " " + words[lab][0], lab])
    return path


def test_scores_by_hand():
    s = classification_scores([0, 0, 0, 1], [0, 0, 1, 1], 2)
    assert s["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    assert s["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    r = regression_scores([[1.0], [2.0], [4.0]], [[1.0], [3.0], [5.0]])
    assert r["mae"] == pytest.approx(2 / 3) and r["rmse"] == pytest.approx((2 / 3) ** 0.5)
    assert r["r2"] == pytest.approx(1 - 2 / 8)  # SSE 2 over SST 8 (targets about their mean 3)


def test_stratified_and_kfold_splits():
    y = torch.tensor([0] * 80 + [1] * 20)
    tr, va, te = three_way(y, 100, 0.1, 0.2, 0, 0, seed=3)
    assert sorted(torch.cat([tr, va, te]).tolist()) == list(range(100))
    assert y[te].sum() == 4 and y[va].sum() == 2  # the 4:1 mix kept in every split
    tests = [three_way(y, 100, 0.1, 0.2, 5, k, seed=3)[2] for k in range(5)]
    assert sorted(torch.cat(tests).tolist()) == list(range(100))  # every example tested exactly once
    assert all(int(y[t].sum()) == 4 for t in tests)
    with pytest.raises(UsageError):
        three_way(y, 100, 0.1, 0.2, 5, 5, seed=0)


def test_table_loader_fits_on_train_only(tmp_path):
    b = load_data(f"table:{write_table(tmp_path / 't.csv')}", seed=1)
    assert b.kind == "table" and b.task == "classification" and b.class_names == ["no", "yes"]
    assert b.train.x.dtype == torch.float32 and b.train.x.shape[1] == b.input_shape[0] == 6
    assert len(b.train) + len(b.val) + len(b.test) == 240
    assert b.extras["feature_names"][4:] == ["income", "income missing"]
    # standardised on training rows: mean 0 over the training split, not over all rows
    assert abs(float(b.train.x[:, 0].mean())) < 1e-5 and abs(float(b.test.x[:, 0].mean())) > 1e-4
    assert torch.isfinite(b.test.x).all()
    raw = b.extras["raw"]["train"]
    assert np.isnan(raw[:, 2]).any() and b.extras["categorical"] == [False, True, False]
    r = load_data(f"table:{tmp_path / 't.csv'}:age")
    assert r.task == "regression" and r.train.y.shape == (len(r.train), 1) and r.num_classes == 1
    c = load_data(f"table:{tmp_path / 't.csv'}", target="age", task="classification", max_classes=100)
    assert c.task == "classification" and c.class_names[:2] == ["18", "19"]  # numeric order


def test_table_bad_files(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("a,b,label\n1,2,x\n" + "1,2,y\n" * 20 + "3,4,\n")
    with pytest.raises(DataError, match=r"bad.csv:23: no value in target column 'label'"):
        load_data(f"table:{p}")
    assert len(load_data(f"table:{p}", skip_bad_rows=True, test_fraction=0.2).train) > 0
    p.write_text("a,b,label\n1,2\n")
    with pytest.raises(DataError, match=r"bad.csv:2: 2 fields where the header has 3"):
        load_data(f"table:{p}")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_data(f"table:{tmp_path / 'empty.csv'}")
    with pytest.raises(DataError, match="no column 'price'"):
        load_data(f"table:{write_table(tmp_path / 't.csv')}:price")


def test_text_csv_jsonl_and_folders(tmp_path):
    b = load_data(f"text:{write_text_csv(tmp_path / 'r.csv')}", seed=0)
    assert b.kind == "text" and b.class_names == ["bad", "good", "so-so"] and b.num_classes == 3
    assert b.extras["source"] == "columns text='review' label='stars'"
    assert b.train.x.dtype == torch.int64 and b.train.lengths.min() >= 1
    vocab = b.extras["vocab"]
    train_words = {w for t in b.extras["texts"]["train"] for w in t.split()}
    assert set(vocab.itos[2:]) <= train_words  # vocabulary from the training split only
    rows = list(csv.reader(open(tmp_path / "r.csv")))[1:]
    with open(tmp_path / "r.jsonl", "w") as f:
        for _, text, lab in rows:
            f.write(json.dumps({"words": text, "rating": lab}) + "\n")
    j = load_data(f"text:{tmp_path / 'r.jsonl'}", text_column="words", label_column="rating")
    assert j.class_names == b.class_names and len(j.train) == len(b.train)
    for split in ("train", "test"):
        for i, (_, text, lab) in enumerate(rows[:60] if split == "train" else rows[60:90]):
            (tmp_path / "acl" / split / lab).mkdir(parents=True, exist_ok=True)
            (tmp_path / "acl" / split / lab / f"{i}.txt").write_text(text)
    (tmp_path / "acl" / "train" / "unsup").mkdir()
    (tmp_path / "acl" / "train" / "unsup" / "0.txt").write_text("no label")
    a = load_data(f"text:{tmp_path / 'acl'}")
    assert len(a.test) == 30 and len(a.train) + len(a.val) == 60 and "unsup" not in a.class_names
    flat = load_data(f"text:{tmp_path / 'acl' / 'train'}", test_fraction=0.25)
    # one folder of label folders: every sub-folder is a class, split by seed
    assert len(flat.train) + len(flat.val) + len(flat.test) == 61 and len(flat.class_names) == 4


def test_text_bad_rows(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes(b"text,label\nfine words,a\n,b\nmore words,\nbad \xff byte,a\n" + b"ok then,b\n" * 10)
    with pytest.raises(DataError, match=r"b.csv:3: empty text in column 'text' \(3 bad row"):
        load_data(f"text:{p}")
    b = load_data(f"text:{p}", skip_bad_rows=True)
    assert b.extras["skipped_rows"] == 3 and len(b.train) + len(b.val) + len(b.test) == 11
    (tmp_path / "one").mkdir()
    with pytest.raises(DataError, match="label"):
        load_data(f"text:{tmp_path / 'one'}")


def test_table_baselines_and_mlp_in_compare(tmp_path):
    data = f"table:{write_table(tmp_path / 't.csv', n=200)}"
    out = tmp_path / "cmp"
    r = run_cli("compare", "mlp", "hgb", "linear", "--data", data, "--threads", "1", "--set", "max_steps=60",
                "--set", "hidden_sizes=[32]",
                "--set", "folds=2", "--out", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    table = (out / "comparison.md").read_text()
    for model in ("| mlp |", "| hgb |", "| linear |"):
        assert model in table
    assert "Balanced acc (%)" in table and "Macro-F1 (%)" in table and "folds: 0, 1 (2 run(s) per model" in table
    runs = {(m, k): json.loads((out / "runs" / "t.csv" / f"{m}-s0-fold={k}" / "metrics.json").read_text())
            for m in ("mlp", "hgb", "linear") for k in (0, 1)}
    assert all(runs[("hgb", k)]["test_accuracy"] >= 0.9 for k in (0, 1))  # a two-feature rule: boosting finds it
    assert "## Neural models against the baselines" in (out / "when_to_use.md").read_text()
    state = json.loads((out / "runs" / "t.csv" / "linear-s0-fold=0" / "baseline.json").read_text())
    assert state["weights"] == "baseline.safetensors" and not list(out.rglob("*.pkl"))
    from archbench.config import TrainConfig
    from archbench.experiment.run import train

    train(TrainConfig(model="hgb", data=f"table:{tmp_path / 't.csv'}:age", out=str(tmp_path / "reg")),
          {"progress": "none"})
    m = json.loads((tmp_path / "reg" / "metrics.json").read_text())
    assert {"test_mae", "test_rmse", "test_r2"} <= set(m) and m["test_mae"] > 0


def test_baseline_refuses_other_kinds(tmp_path):
    r = run_cli("train", "hgb", "--data", "digits", "--out", tmp_path / "x")
    assert r.returncode != 0 and "takes table data" in r.stderr and "Traceback" not in r.stderr


def test_parquet_table_matches_csv(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = write_table(tmp_path / "t.csv")
    rows = list(csv.reader(open(path)))
    cols = list(zip(*rows[1:]))
    table = pa.table({"age": [int(v) for v in cols[0]], "city": list(cols[1]),
                      "income": [float(v) if v else None for v in cols[2]], "label": list(cols[3])})
    pq.write_table(table, tmp_path / "t.parquet")
    a, b = load_data(f"table:{path}"), load_data(f"table:{tmp_path / 't.parquet'}")
    assert b.class_names == a.class_names and torch.allclose(a.train.x, b.train.x)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="cannot read Parquet"):
        load_data(f"table:{tmp_path / 'broken.parquet'}")


def test_class_weights_reach_the_loss(tmp_path):
    from archbench.config import TrainConfig
    from archbench.experiment.run import train

    data = f"table:{write_table(tmp_path / 't.csv')}"
    b = load_data(data, class_weights="balanced")
    counts = torch.bincount(b.train.y, minlength=2).double()
    assert torch.allclose(b.extras["class_weight"].double(), len(b.train.y) / (2 * counts))
    seen = {}

    def grab(trainer):
        seen["weight"] = trainer.loss_fn.weight

    train(TrainConfig(model="mlp", data=data), {"class_weights": "balanced", "max_steps": 2, "progress": "none",
                                                 "threads": 1}, write=False, on_epoch=grab)
    assert torch.allclose(seen["weight"].cpu(), b.extras["class_weight"])
