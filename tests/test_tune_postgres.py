"""Two tune workers on one PostgreSQL study (a real server from Debian's package, started here on
127.0.0.1 and stopped at the end), one killed with SIGKILL mid-trial: the study still ends with exactly
N complete trials, the dead trial failed by its missing heartbeat and retried."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("psycopg")

from test_tune_shared import check_study, kill_mid_trial, worker  # noqa: E402

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not bins:
        pytest.skip("PostgreSQL is not installed (bash scripts/install_postgres.sh, run by `make test`)")
    if shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("starting a throw-away PostgreSQL needs root (runuser -u postgres)")
    bindir = os.path.dirname(bins[-1])
    root = tempfile.mkdtemp(prefix="archbench-pg-")
    shutil.chown(root, "postgres")
    data, port = os.path.join(root, "data"), free_port()
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_pg + [f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)
    # TCP on 127.0.0.1 only, the Unix socket inside the temp folder
    subprocess.run(as_pg + [f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
                            f"-c listen_addresses=127.0.0.1 -p {port} -k {root}", "start"], check=True,
                   capture_output=True)
    try:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as c:
            assert c.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_pg + [f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_two_postgres_workers_one_killed(postgres, tmp_path):
    a = worker(postgres, tmp_path / "a")
    b = worker(postgres, tmp_path / "b", "--worker", fault="stop:step=3")
    storage = optuna.storages.RDBStorage(postgres.replace("postgresql://", "postgresql+psycopg://"))

    def b_running(pid):
        try:
            study = optuna.load_study(study_name="shared", storage=storage)
        except KeyError:  # not created yet
            return False
        return any(t.user_attrs.get("worker", "").endswith(f":{pid}")
                   for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))

    kill_mid_trial(b, b_running)
    out, _ = a.communicate(timeout=240)
    assert a.returncode == 0, out
    check_study(optuna.load_study(study_name="shared", storage=storage))
