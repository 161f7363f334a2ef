"""Tuning workers on one shared study (journal file, PostgreSQL): --trials N complete trials in all,
no overshoot, and a worker killed with SIGKILL mid-trial has that trial failed and retried."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import wait_until_stopped

optuna = pytest.importorskip("optuna")

ROOT = Path(__file__).resolve().parents[1]
TRIALS = 4
COMMON = ["tune", "mlp", "--data", "digits", "--trials", str(TRIALS), "--epochs", "2", "--threads", "1",
          "--precision", "fp32", "--batch-size", "64", "--study", "shared"]


def worker(storage: str, out: Path, *extra: str, fault: str = "") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1", "ARCHBENCH_FAULT": fault}
    return subprocess.Popen([sys.executable, "-m", "archbench", *COMMON, "--storage", storage, "--out", str(out),
                             *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_mid_trial(victim: subprocess.Popen, running) -> None:
    """SIGKILL ``victim`` while it holds a RUNNING trial: started with fault="stop:step=3", it stops
    itself inside its first trial's training, so the kill lands there on any machine (not a timer)."""
    wait_until_stopped(victim)
    assert running(victim.pid), "the stopped worker holds no running trial"
    victim.send_signal(signal.SIGKILL)
    victim.wait()


def check_study(study) -> None:
    S = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == S.COMPLETE]
    failed = [t for t in trials if t.state == S.FAIL]
    assert len(complete) == TRIALS, [(t.number, t.state) for t in trials]  # exactly N: no overshoot
    assert not [t for t in trials if t.state in (S.RUNNING, S.WAITING)]
    assert len(failed) == 1 and failed[0].user_attrs["error"] == "interrupted"
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retried) == 1 and retried[0].state in (S.COMPLETE, S.PRUNED)  # it ran to its end
    if failed[0].params:  # killed after sampling: the retry runs the very same configuration
        assert retried[0].params == failed[0].params


def test_two_journal_workers_one_killed(tmp_path):
    journal = tmp_path / "study.journal"
    a = worker(f"journal:{journal}", tmp_path / "a")
    b = worker(f"journal:{journal}", tmp_path / "b", "--worker", fault="stop:step=3")

    def b_running(pid):
        for f in (tmp_path / "study.journal.owners").glob("trial-*.json"):
            try:
                if json.loads(f.read_text())["pid"] == pid:
                    return True
            except (OSError, ValueError, KeyError):
                pass
        return False

    kill_mid_trial(b, b_running)
    out, _ = a.communicate(timeout=240)
    assert a.returncode == 0, out
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    check_study(optuna.load_study(study_name="shared", storage=JournalStorage(JournalFileBackend(str(journal)))))
    summary = json.loads((tmp_path / "a" / "tune.json").read_text())
    assert summary["n_trials"] == TRIALS and summary["states"]["fail"] == 1


def test_sqlite_refused_for_several_jobs(tmp_path):
    from archbench.errors import UsageError
    from archbench.experiment.tune_storage import open_storage, pg_url

    assert pg_url("postgresql://u@127.0.0.1/db") == "postgresql+psycopg://u@127.0.0.1/db"
    assert pg_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(UsageError, match="journal:PATH"):
        open_storage(optuna, "redis://127.0.0.1", tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, "-m", "archbench", *COMMON, "--jobs", "2", "--storage",
                        f"sqlite:///{tmp_path}/s.db", "--out", str(tmp_path / "o")], env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "SQLite is for one process" in r.stderr and "Traceback" not in r.stderr
