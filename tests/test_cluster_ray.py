"""compare --cluster ray on a local Ray instance bound to 127.0.0.1: the same table as a local compare,
a killed driver resumes, a killed worker's run is retried and counted once."""
import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from archbench.experiment.compare import compare
from archbench.experiment.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"threads": 1, "precision": "fp32", "batch_size": 64}
GRID = ["mlp", "--seeds", "0,1,2", "--budget", "epochs=1", "--threads", "1", "--precision", "fp32",
        "--batch-size", "64"]


def plan():
    return Plan(pairs=[("digits", "mlp")], seeds=[0, 1, 2], budget={"epochs": 1})


@pytest.fixture(scope="module")
def cluster():
    import psutil

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    if os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") != "0":  # read when Ray is imported: too late here
        pytest.skip("run with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (conftest sets it) so Ray binds 127.0.0.1")
    ctx = ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
                   object_store_memory=80 * 1024 * 1024, log_to_driver=False)
    info = ctx.address_info
    assert info["node_ip_address"] == "127.0.0.1" and info["gcs_address"].startswith("127.0.0.1:")
    # every listener of this instance is on the loopback address
    procs = [p for p in psutil.process_iter(["cmdline"]) if info["session_dir"] in " ".join(p.info["cmdline"] or [])]
    pids = {p.pid for p in procs} | {c.pid for p in procs for c in p.children(recursive=True)}
    listening = [c.laddr.ip for c in psutil.net_connections("inet") if c.pid in pids and c.status == "LISTEN"]
    assert listening and all(ip in ("127.0.0.1", "::ffff:127.0.0.1", "::1") for ip in listening), listening
    yield info["gcs_address"]
    ray.shutdown()


def accuracies(out: Path):
    return {r["run_dir"]: float(r["test_accuracy"]) for r in csv.DictReader((out / "results.csv").open())}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    compare(plan(), dict(SETTINGS), out, log=lambda s: None)
    return accuracies(out)


def test_a_grid_on_ray_equals_the_local_one(cluster, local, tmp_path):
    lines = []
    compare(plan(), dict(SETTINGS), tmp_path, cluster="ray", log=lines.append)
    assert accuracies(tmp_path) == local  # the same numbers per run, to the last digit
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert {r["threads"] for r in rows} == {"1"} and all(r["host"] and r["device"] == "cpu" for r in rows)
    assert (tmp_path / "runs" / "digits" / "mlp-s0" / "model.safetensors").is_file()
    assert any("[3/3 done]" in s for s in lines)


def test_a_killed_worker_is_retried_and_counted_once(cluster, local, tmp_path):
    killed = []

    def kill_first_task():
        end = time.monotonic() + 120
        while time.monotonic() < end and not killed:
            for p in Path("/proc").iterdir():
                try:
                    if p.name.isdigit() and b"ray::train_task" in (p / "cmdline").read_bytes():
                        time.sleep(1.0)  # let it get into its training
                        os.kill(int(p.name), signal.SIGKILL)
                        killed.append(int(p.name))
                        return
                except (OSError, ProcessLookupError):
                    continue
            time.sleep(0.05)

    t = threading.Thread(target=kill_first_task)
    t.start()
    compare(plan(), dict(SETTINGS), tmp_path, cluster="ray", log=lambda s: None)
    t.join()
    assert killed, "no Ray worker was seen"
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert len(rows) == 3 and accuracies(tmp_path) == local  # each run once, with its own numbers


def test_a_killed_driver_resumes_only_the_unfinished_runs(cluster, local, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "archbench", "compare", *GRID, "--cluster", "ray", "--address", cluster,
           "--out", str(tmp_path)]
    driver = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = tmp_path / "runs" / "digits" / "mlp-s0" / "metrics.json"
    end = time.monotonic() + 180
    while not first.is_file():
        assert driver.poll() is None, driver.stderr.read()
        assert time.monotonic() < end
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert not (tmp_path / "results.csv").exists()
    again = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "mlp on digits (seed 0) kept from the earlier run" in again.stderr
    assert accuracies(tmp_path) == local


def test_compare_tune_runs_each_study_on_the_cluster(cluster, tmp_path):
    one = Plan(pairs=[("digits", "mlp")], seeds=[0], budget={"epochs": 1})
    compare(one, dict(SETTINGS), tmp_path / "local", tune_trials=2, log=lambda s: None)
    lines = []
    compare(one, dict(SETTINGS), tmp_path / "ray", tune_trials=2, cluster="ray", log=lines.append)
    assert any("tuning 1 model(s) on the cluster" in s for s in lines), lines
    study = Path("tuning") / "digits" / "mlp"
    read = lambda d: [{k: v for k, v in t.items() if k != "seconds"}
                      for t in csv.DictReader((tmp_path / d / study / "trials.csv").open())]
    trials = [read("local"), read("ray")]
    assert len(trials[1]) == 2 and trials[0] == trials[1]  # the same proposals and scores, trial by trial
    assert accuracies(tmp_path / "ray") == accuracies(tmp_path / "local")
