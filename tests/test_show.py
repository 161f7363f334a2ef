"""`archbench show DATA` and the data preview on run pages, for every data kind."""
import json
import math

import pytest
import torch
from helpers import cli

from archbench import TrainConfig, train_model
from archbench.data import load_data
from archbench.data.base import DataBundle, Split
from archbench.data.text import Vocab
from archbench.errors import UsageError
from archbench.viz.show import PREVIEW_FILE, TEXT_FILE, preview_figure, write_preview

PNG = b"\x89PNG"


def text_bundle():
    vocab = Vocab.from_tokens([["the", "cat", "sat", "on", "mat"]] * 2, min_freq=1)
    ids, lengths = vocab.encode(["The cat sat", "on the mat mat"], pad_to=5)
    s = Split(ids, torch.tensor([1, 0]), lengths)
    return DataBundle("toy-text", "text", s, s, s, input_shape=(5,), num_classes=2, class_names=["neg", "pos"],
                      vocab_size=len(vocab), extras={"vocab": vocab})


def test_text_is_decoded_to_words_with_labels(tmp_path):
    fig, lines = preview_figure(text_bundle(), n=2)
    assert sorted(lines) == ["[neg] on the mat mat", "[pos] the cat sat"]
    write_preview(text_bundle(), tmp_path, n=2)
    assert "[pos] the cat sat" in (tmp_path / TEXT_FILE).read_text()
    assert (tmp_path / PREVIEW_FILE).read_bytes()[:4] == PNG


@pytest.mark.parametrize("name,opts", [("digits", {}), ("seq-sum", {"n_samples": 100, "seq_len": 20})])
def test_images_and_series_are_drawn_with_their_labels(tmp_path, name, opts):
    b = load_data(name, **opts)
    fig, lines = preview_figure(b, n=8)
    titles = [ax.get_title() for ax in fig.axes]
    assert lines == [] and len(fig.axes) == 8
    assert all(t in b.class_names for t in titles)  # each example is labelled with its class
    entry = write_preview(b, tmp_path, n=8)
    assert entry["file"] == PREVIEW_FILE and (tmp_path / PREVIEW_FILE).read_bytes()[:4] == PNG


def test_forecast_windows_show_the_values_to_forecast(tmp_path):
    rows = "\n".join(f"{i},{10 + math.sin(i / 3):.4f}" for i in range(120))
    (tmp_path / "s.csv").write_text("t,value\n" + rows + "\n")
    b = load_data(f"csv:{tmp_path / 's.csv'}:value", window=12, horizon=3, test_size=20, val_size=20)
    fig, _ = preview_figure(b, n=4)
    ax = fig.axes[0]
    assert [len(line.get_xdata()) for line in ax.get_lines()][:2] == [12, 3]  # the window, then the horizon


def test_unknown_kind_and_no_examples_are_usage_errors():
    b = text_bundle()
    b.kind = "table"
    with pytest.raises(UsageError, match="no preview for table"):
        preview_figure(b)
    with pytest.raises(UsageError, match="at least one"):
        preview_figure(text_bundle(), n=0)


def test_show_command_writes_a_page(tmp_path):
    r = cli("show", "seq-sum", "--set", "n_samples=100", "--examples", "4", "--out", tmp_path / "s")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "s" / "archbench.json").read_text())["type"] == "show"
    assert PREVIEW_FILE in (tmp_path / "s" / "report.html").read_text()
    bad = cli("show", "seq-sum", "--set", "bogus=1", "--out", tmp_path / "b")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "bogus" in bad.stderr


def test_each_run_page_shows_the_data(tmp_path):
    cfg = TrainConfig(model="mlp", data="digits", out=str(tmp_path / "run"), progress="none", threads=1, epochs=1)
    res = train_model(cfg, {})
    figures = json.loads((res.run_dir / "figures.json").read_text())
    assert PREVIEW_FILE in [f["file"] for f in figures] and (res.run_dir / PREVIEW_FILE).is_file()
