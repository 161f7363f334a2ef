"""Run pages show a sample of the predictions, the confidently wrong ones and a link, not every row."""
import re

from archbench import TrainConfig, train_model
from archbench.report.html import build_report
from archbench.report.predictions import predictions_section


def write_predictions(d, n=10_000):
    lines = ["index,target,prediction,confidence"]
    for i in range(n):
        wrong = i % 50 == 0
        conf = 0.999 if i == 4250 else 0.5 + (i % 40) / 100
        lines.append(f"{i},{i % 10},{(i + 1) % 10 if wrong else i % 10},{conf:.6f}")
    (d / "predictions.csv").write_text("\n".join(lines) + "\n")


def test_sample_worst_and_link(tmp_path):
    write_predictions(tmp_path)
    html = predictions_section(tmp_path)
    assert 'href="predictions.csv"' in html and "10,000 test predictions" in html
    assert "Confidently wrong (200 wrong in all)" in html
    first_wrong = html.split("Confidently wrong")[1].split("<tr")[2]  # [0] head, [1] header row
    assert ">4250<" in first_wrong and "0.999" in first_wrong  # the most confident mistake comes first
    assert html.count("<tr") == 2 + 10 + 20  # two header rows, 10 worst, 20 sampled
    assert len(html) < 20_000
    assert predictions_section(tmp_path) == html  # the sample is fixed


def test_forecast_runs_show_the_largest_errors(tmp_path):
    (tmp_path / "predictions.csv").write_text("index,abs_error\n" + "".join(f"{i},{i / 10:.6f}\n" for i in range(30)))
    html = predictions_section(tmp_path, sample=5, worst=3)
    assert "Largest errors" in html and html.index(">29<") < html.index("A sample")


def test_mnist_sized_run_page_stays_small(tmp_path, shared_data):
    # a few optimiser steps, then all 10,000 test images predicted: the page without images < 300 kB
    cfg = TrainConfig(model="mlp", data="mnist", data_dir=str(shared_data), out=str(tmp_path / "run"),
                      progress="none", threads=1, epochs=1, max_steps=5)
    res = train_model(cfg, {})
    assert sum(1 for _ in open(res.run_dir / "predictions.csv")) == 10_001
    page = build_report(res.run_dir).read_text()
    without_images = re.sub(r'src="data:[^"]*"', 'src=""', page)
    assert len(without_images.encode()) < 300_000, len(without_images.encode())
    assert "Confidently wrong" in page and 'href="predictions.csv"' in page
