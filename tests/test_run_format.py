"""Run directories written by an earlier release still evaluate, report and resume; a newer format is refused."""
import json
import shutil
from pathlib import Path

import pytest
from helpers import cli

from archbench import evaluate_run, resume_run
from archbench.errors import CheckpointError
from archbench.rundir import FORMAT, marker, read_run_config

FIXTURES = Path(__file__).parent / "fixtures" / "format0"


@pytest.fixture
def old_runs(tmp_path):
    shutil.copytree(FIXTURES, tmp_path / "format0")
    return tmp_path / "format0"


def test_new_directories_name_their_format():
    assert marker("run", "x")["format"] == FORMAT >= 1


def test_a_format0_run_still_evaluates_to_its_metrics(old_runs):
    run = old_runs / "run-finished"
    assert "format" not in json.loads((run / "archbench.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    got = evaluate_run(run, device="cpu")
    assert got["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=0)
    assert got["test_loss"] == pytest.approx(metrics["test_loss"], rel=1e-6)


def test_a_format0_run_still_reports(old_runs):
    run = old_runs / "run-finished"
    (run / "report.html").unlink(missing_ok=True)
    proc = cli("report", run)
    assert proc.returncode == 0, proc.stderr
    assert "mlp on digits" in (run / "report.html").read_text()


def test_a_format0_interrupted_run_still_resumes(old_runs):
    run = old_runs / "run-interrupted"
    res = resume_run(run, {"progress": "none"})
    assert res is not None and res.metrics["epochs_run"] == 6
    assert (run / "metrics.json").is_file() and (run / "model.safetensors").is_file()


def test_a_newer_format_is_refused_in_one_line(old_runs, tmp_path):
    run = old_runs / "run-finished"
    held = json.loads((run / "archbench.json").read_text())
    (run / "archbench.json").write_text(json.dumps({**held, "format": FORMAT + 1}))
    with pytest.raises(CheckpointError, match="newer than this archbench"):
        read_run_config(run)
    proc = cli("evaluate", run)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "format" in proc.stderr and "Traceback" not in proc.stderr
