"""The HTML report: pages built from fake run and comparison directories (no training, no browser)."""
from __future__ import annotations

import csv
import html.parser
import json
import re
from pathlib import Path

import pytest

from archbench.errors import CheckpointError
from archbench.report.html import build_report
from archbench.report.html_markup import format_cell, markdown_to_html

NASTY = 'CNN <script>alert("x")</script> & co'


# ----------------------------------------------------------------------------- fake directories
# (also used by test_report_browser.py)

def _write(d: Path, name: str, data) -> None:
    text = data if isinstance(data, str) else json.dumps(data, indent=2)
    (d / name).write_text(text, encoding="utf-8")


def _meta(d: Path, kind: str, title: str) -> None:
    _write(d, "archbench.json", {"type": kind, "title": title, "created": "2025-03-04T10:20:30+00:00",
                                  "version": "0.1.0"})


_PNG_CACHE: dict = {}


def _png(path: Path, kind: str, size=(6.0, 3.6), seed: int = 0) -> None:
    """A small real figure; drawn once per (kind, size) and copied, to keep the tests fast."""
    key = (kind, tuple(size))
    if key not in _PNG_CACHE:
        _draw(path, kind, size, seed)
        _PNG_CACHE[key] = path.read_bytes()
    path.write_bytes(_PNG_CACHE[key])


def _draw(path: Path, kind: str, size, seed: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=size, dpi=110)
    if kind == "curves":
        e = np.arange(1, 13)
        ax.plot(e, 1.8 * np.exp(-e / 4) + 0.2, label="train loss")
        ax.plot(e, 1.9 * np.exp(-e / 5) + 0.3 + 0.02 * rng.standard_normal(12), label="val loss")
        ax.set_xlabel("epoch"), ax.set_ylabel("loss"), ax.legend()
    elif kind == "matrix":
        m = np.eye(5) * 40 + rng.integers(0, 6, (5, 5))
        ax.imshow(m, cmap="Blues")
        ax.set_xlabel("predicted"), ax.set_ylabel("true")
    else:
        ax.bar(["mlp", "cnn", "lstm", "gru"], rng.uniform(0.8, 0.99, 4))
        ax.set_ylabel("test accuracy")
    ax.set_title(kind)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def make_run_dir(d: Path, *, model: str = "cnn", seed: int = 0, title: str | None = None,
                 regression: bool = False, accuracy: float = 0.9731) -> Path:
    """A run directory as the trainer writes it (without the weights)."""
    d.mkdir(parents=True, exist_ok=True)
    _meta(d, "run", title or f"{model} on digits (seed {seed})")
    _write(d, "config.json", {"model": model, "data": "digits", "seed": seed,
                              "train": {"optimizer": "adam", "lr": 0.001, "epochs": 12, "batch_size": 64,
                                        "scheduler": {"name": "cosine", "warmup": 0}},
                              "model_hparams": {"channels": [16, 32], "dropout": 0.25, "batch_norm": True}})
    if regression:
        metrics = {"test_mae": 0.41234, "test_rmse": 0.58761, "test_loss": 0.3453, "best_epoch": 9,
                   "epochs_run": 12, "train_seconds": 12.34, "samples_per_s": 15234.7, "params": 40321}
    else:
        metrics = {"test_accuracy": accuracy, "test_loss": 0.08912345, "best_epoch": 10, "epochs_run": 12,
                   "train_seconds": 134.5, "samples_per_s": 8812.25, "params": 1234567, "val_accuracy": 0.975}
    _write(d, "metrics.json", metrics)
    with open(d / "history.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "train_loss", "val_loss", "val_acc", "lr", "seconds"])
        for e in range(1, 13):
            w.writerow([e, 1.5 / e, 1.6 / e + 0.01, 0.8 + 0.015 * e, 0.001, 1.12345678])
    if not regression:
        _write(d, "classification_report.json", {
            **{str(c): {"precision": 0.95 + c / 200, "recall": 0.96, "f1-score": 0.955, "support": 36}
               for c in range(3)},
            "accuracy": accuracy,
            "macro avg": {"precision": 0.96, "recall": 0.96, "f1-score": 0.96, "support": 108}})
    _write(d, "summary.md", "| layer | output shape | params |\n|---|---|---:|\n"
                            "| conv1 | (16, 8, 8) | 160 |\n| conv2 | (32, 4, 4) | 4640 |\n"
                            "| fc | (10,) | 5130 |\n\n**Total params:** 9,930\n")
    _png(d / "learning_curves.png", "curves", size=(10, 3.6), seed=seed)
    figures = [{"file": "learning_curves.png", "title": "Learning curves",
                "caption": "Train and validation loss per epoch; a widening gap means over-fitting."}]
    if not regression:
        _png(d / "confusion_matrix.png", "matrix", size=(5, 4.2), seed=seed)
        figures.append({"file": "confusion_matrix.png", "title": "Confusion matrix",
                        "caption": "Rows are true classes; off-diagonal cells show which digits get confused."})
    _write(d, "figures.json", figures)
    (d / "model.safetensors").write_bytes(b"\0" * 2048)
    (d / "checkpoint").mkdir(exist_ok=True)
    return d


def make_comparison_dir(d: Path, *, title: str = "Architectures on digits") -> Path:
    """A comparison directory holding two runs each of three models in <model>-s<seed>/."""
    d.mkdir(parents=True, exist_ok=True)
    _meta(d, "comparison", title)
    runs = []
    for i, model in enumerate(("mlp", "cnn", "lstm")):
        for seed in (0, 1):
            rel = f"{model}-s{seed}"
            make_run_dir(d / rel, model=model, seed=seed, accuracy=0.9 + 0.03 * i + 0.005 * seed)
            runs.append({"model": model, "data": "digits", "seed": seed, "dir": rel})
    _write(d, "comparison.json", {"runs": runs})
    _write(d, "comparison.csv",
           "model,data,runs,test_accuracy,test_loss,params,train_seconds\n"
           "mlp,digits,2,90.25 ± 0.35,0.3123 ± 0.0101,25818,4.1 ± 0.2\n"
           "cnn,digits,2,93.25 ± 0.35,0.2101 ± 0.0087,9930,9.8 ± 0.4\n"
           "lstm,digits,2,96.25 ± 0.35,0.1502 ± 0.0042,41226,21.7 ± 1.1\n")
    _write(d, "significance.json", [
        "lstm beats cnn on test accuracy (paired t-test over 2 seeds, p = 0.012).",
        "cnn vs mlp: the difference is not significant (p = 0.21)."])
    _write(d, "when_to_use.md",
           "| Architecture | Best for | Pros | Cons |\n|---|---|---|---|\n"
           "| **MLP** | Tabular data | Simple, fast | Ignores spatial structure |\n"
           "| **CNN** | Images | Translation invariant, few parameters | Fixed input size |\n"
           "| **LSTM** | Long sequences | Long-range memory | Slower than GRU |\n")
    _png(d / "accuracy.png", "bars", size=(6, 3.8))
    _write(d, "figures.json", [{"file": "accuracy.png", "title": "Test accuracy by architecture",
                                "caption": "Bars are means over seeds; look for gaps larger than the error bars."}])
    return d


# ----------------------------------------------------------------------------- a tiny HTML reader

class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []
        self._skip = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._skip = tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip:  # page text only, not the inline CSS and script
            self.text.append(data)


def parse(page: Path):
    p = _Tags()
    p.feed(page.read_text(encoding="utf-8"))
    return p.tags, " ".join(" ".join(p.text).split())


def _attr(tags, tag, name):
    return [a[name] for t, a in tags if t == tag and name in a]


# ----------------------------------------------------------------------------- tests

def test_run_report_shows_metrics_tables_and_figures(tmp_path):
    run = make_run_dir(tmp_path / "run")
    page = build_report(run)
    assert page == run / "report.html"
    tags, text = parse(page)
    # headline cards: accuracy as a percentage, loss, epochs, time, throughput, params
    assert "97.31%" in text and "0.08912" in text
    assert "Best epoch 10" in text and "Epochs run 12" in text
    assert "2m 14s" in text and "8,812" in text and "1.23 M" in text
    # config as a key/value table, nested keys flattened
    assert "optimizer" in text and "scheduler.name" in text and "cosine" in text
    # history table (12 epochs, long floats shortened), classification report, layer table
    assert "Training history (12 epochs)" in text and "1.1235" in text and "1.12345678" not in text
    assert "f1-score" in text and "macro avg" in text
    assert "conv2" in text and "(32, 4, 4)" in text
    assert len([t for t, _ in tags if t == "table"]) >= 4
    # figures: every image exists, captions and titles present
    srcs = _attr(tags, "img", "src")
    assert sorted(srcs) == ["confusion_matrix.png", "learning_curves.png"]
    assert all((run / s).is_file() for s in srcs)
    assert "a widening gap means over-fitting" in text and "Confusion matrix" in text
    # self-contained: viewport meta, no network references
    raw = page.read_text()
    assert '<meta name="viewport"' in raw
    assert not re.search(r"(src|href)=\"(https?:)?//", raw)


def test_regression_run_has_errors_instead_of_accuracy(tmp_path):
    run = make_run_dir(tmp_path / "reg", regression=True)
    _, text = parse(build_report(run))
    assert "Test RMSE 0.5876" in text and "Test MAE 0.4123" in text
    assert "Test accuracy" not in text


def test_comparison_links_runs_and_back(tmp_path):
    comp = make_comparison_dir(tmp_path / "cmp")
    page = build_report(comp)
    tags, text = parse(page)
    # results table: sortable, mean ± std kept as text
    assert "96.25 ± 0.35" in text
    assert any("sortable" in a.get("class", "") for t, a in tags if t == "table")
    assert "paired t-test" in text and "not significant" in text
    assert "Translation invariant" in text and "<strong>" in page.read_text()  # **CNN** rendered bold
    # one link per run, each to a report that now exists and links back up
    links = [h for h in _attr(tags, "a", "href") if h.endswith("/report.html")]
    assert len(links) == 6
    for href in links:
        run_page = comp / href
        assert run_page.is_file()
        run_tags, run_text = parse(run_page)
        ups = [a["href"] for t, a in run_tags if t == "a" and a.get("rel") == "up"]
        assert ups == ["../report.html"]
    assert "Architectures on digits" in run_text
    # a run built on its own still finds the comparison above it
    (comp / "cnn-s0" / "report.html").unlink()
    run_tags, _ = parse(build_report(comp / "cnn-s0"))
    assert [a["href"] for t, a in run_tags if t == "a" and a.get("rel") == "up"] == ["../report.html"]
    # headline metric per run in the runs table
    assert "96.50%" in text
    srcs = _attr(tags, "img", "src")
    assert srcs == ["accuracy.png"] and (comp / srcs[0]).is_file()


def test_escaping(tmp_path):
    run = make_run_dir(tmp_path / "run", title=NASTY)
    _write(run, "figures.json", [{"file": "learning_curves.png", "title": "<b>bold</b>",
                                  "caption": "a < b & \"quotes\" <img src=x onerror=alert(1)>"}])
    raw = build_report(run).read_text()
    assert "<script>alert" not in raw and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in raw
    assert "<img src=x" not in raw and "<b>bold</b>" not in raw
    assert raw.count("<script>") == 1  # only the page's own sorting script


def test_embed_inlines_images(tmp_path):
    run = make_run_dir(tmp_path / "run")
    tags, _ = parse(build_report(run, embed=True))
    srcs = _attr(tags, "img", "src")
    assert len(srcs) == 2 and all(s.startswith("data:image/png;base64,") for s in srcs)


def test_other_directory_types_render_markdown_and_csv(tmp_path):
    d = tmp_path / "fund"
    d.mkdir()
    _meta(d, "fundamentals", "Activation functions")
    _png(d / "activations.png", "curves")
    _write(d, "figures.json", [{"file": "activations.png", "title": "Activations",
                                "caption": "ReLU is flat below zero."},
                               {"file": "gone.png", "title": "Gone", "caption": "missing on disk"}])
    _write(d, "activations.md", "# Ranges\n\n| name | range |\n|:--|--:|\n| sigmoid | (0, 1) |\n| tanh | (-1, 1) |\n")
    _write(d, "grads.csv", "layer,norm\nfc1,0.123456789\nfc2,0.5\n")
    tags, text = parse(build_report(d))
    assert "sigmoid" in text and "(-1, 1)" in text and "fc1" in text and "0.1235" in text
    assert _attr(tags, "img", "src") == ["activations.png"]
    assert "gone.png is missing" in text


def test_not_an_archbench_directory(tmp_path):
    with pytest.raises(CheckpointError, match="is not an archbench directory \\(no archbench.json\\)"):
        build_report(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        build_report(tmp_path / "nope")
    (tmp_path / "archbench.json").write_text("{oops")
    with pytest.raises(CheckpointError, match="damaged"):
        build_report(tmp_path)


def test_markdown_subset():
    out = markdown_to_html("## Head\n\nSome *it* and **bold** `x<y` [r](run/report.html) "
                           "[bad](javascript:alert(1))\n\n- one\n- two\n\n1. a\n2. b\n")
    assert "<h4>Head</h4>" in out and "<em>it</em>" in out and "<strong>bold</strong>" in out
    assert "<code>x&lt;y</code>" in out and '<a href="run/report.html">r</a>' in out
    assert "javascript:" not in out.split("[bad]")[0] and 'href="javascript' not in out
    assert "<ul><li>one</li><li>two</li></ul>" in out and "<ol><li>a</li><li>b</li></ol>" in out
    assert format_cell("0.123456") == "0.1235" and format_cell("0.5") == "0.5" and format_cell("abc") == "abc"


def test_comparison_with_missing_and_self_listed_runs(tmp_path):
    comp = make_comparison_dir(tmp_path / "cmp")
    runs = json.loads((comp / "comparison.json").read_text())["runs"][:1]
    runs += [{"model": "gru", "data": "digits", "seed": 0, "dir": "gru-s0"},  # never written
             {"model": "self", "data": "digits", "seed": 0, "dir": "."}]   # must not recurse
    _write(comp, "comparison.json", {"runs": runs})
    tags, text = parse(build_report(comp))
    assert "gru-s0 is missing" in text
    hrefs = _attr(tags, "a", "href")
    assert "mlp-s0/report.html" in hrefs and "report.html" in hrefs


def test_explain_directory_inside_a_run_links_up(tmp_path):
    run = make_run_dir(tmp_path / "run", title="my run")
    ex = run / "explain"
    ex.mkdir()
    _meta(ex, "explain", "Saliency")
    _png(ex / "saliency.png", "matrix")
    tags, text = parse(build_report(ex))
    assert [a["href"] for t, a in tags if t == "a" and a.get("rel") == "up"] == ["../report.html"]
    assert "my run" in text and _attr(tags, "img", "src") == ["saliency.png"]
    assert "Saliency" in text  # an image missing from figures.json still shows, titled by its name
