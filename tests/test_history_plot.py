"""The history figure marks the epoch whose weights were kept and says when training loss is smoothed."""
import csv
import json

from archbench.viz.history import plot_history

HISTORY = [  # validation loss lowest at epoch 2, validation accuracy highest at epoch 3
    {"epoch": e, "train_loss": tl, "val_loss": vl, "train_acc": 0.9, "val_acc": va, "lr": 1e-3}
    for e, tl, vl, va in [(1, 0.9, 0.30, 0.90), (2, 0.7, 0.20, 0.92), (3, 0.6, 0.25, 0.95)]
]


def test_marker_follows_the_kept_epoch(tmp_path):
    legend = plot_history(HISTORY, tmp_path / "h.png", kept_epoch=3)
    assert "weights kept (epoch 3)" in legend and legend[0] == "train"
    assert (tmp_path / "h.png").stat().st_size > 0
    legend = plot_history(HISTORY, tmp_path / "h.png")  # no kept epoch given: lowest validation loss
    assert "lowest val loss (epoch 2)" in legend


def test_smoothed_training_loss_is_labelled(tmp_path):
    legend = plot_history(HISTORY, tmp_path / "h.png", kept_epoch=2, label_smoothing=0.1)
    assert legend[0] == "train (targets smoothed by 0.1)"


def test_run_marks_the_epoch_kept_by_val_acc(tmp_path):
    from archbench.config import TrainConfig
    from archbench.experiment.run import train

    cfg = TrainConfig(model="mlp", data="digits", epochs=3, seed=0, device="cpu", monitor="val_acc",
                      label_smoothing=0.1, progress="none", out=str(tmp_path / "run"))
    res = train(cfg)
    metrics = json.loads((res.run_dir / "metrics.json").read_text())
    rows = csv.DictReader((res.run_dir / "history.csv").read_text().splitlines())
    val_acc = [float(r["val_acc"]) for r in rows]
    assert metrics["best_epoch"] == val_acc.index(max(val_acc)) + 1
    caption = json.loads((res.run_dir / "figures.json").read_text())[0]["caption"]
    assert "smoothed by 0.1" in caption
