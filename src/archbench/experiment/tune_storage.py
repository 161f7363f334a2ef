"""Where a tuning study lives, and how several workers share it without losing or repeating trials.

``--storage`` takes:
  (none)               OUT/study.db, SQLite: one process only (SQLite's locking is not for parallel writers)
  journal:PATH         Optuna's journal file storage: several processes on one machine, or machines that
                       share a file system with working locks
  postgresql://...     Optuna's RDB storage through psycopg 3 (postgresql+psycopg://... too): many machines
  sqlite:///PATH       SQLite at PATH, one process only

``--trials N`` means N complete trials in the study, whichever worker ran them. A worker *reserves* a
trial before running it: under a study-wide lock (an advisory lock in PostgreSQL, a file lock beside a
journal or SQLite file) it counts the complete trials and the live running ones, and asks for a new
trial only while they are fewer than N, so that the study never overshoots. Pruned and failed trials
do not count towards N; they are reported apart.

A worker that dies (kill -9, a lost machine) leaves its trial RUNNING. On PostgreSQL every worker sends
Optuna's heartbeat (``heartbeat_interval``); a trial whose heartbeat is older than ``grace_period`` is
failed by ``fail_stale_trials`` and retried with the same parameters (``RetryHeartbeatStaleTrialCallback``).
Journal and SQLite storages have no heartbeat: each running trial has an owner file (host, pid) that its
worker touches every few seconds; the trial is stale only if its owner is dead (same host: the pid is
gone; another host: the file has not been touched for the grace period). A live concurrent worker's
trials are therefore never failed.
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from sqlalchemy import text

from ..errors import UsageError
from ..files import atomic_write_text, file_lock

HEARTBEAT_S = 2          # how often a worker says its trial is alive
GRACE_S = 20             # a trial silent for this long on another host is taken for dead
WAIT_S = 0.5             # how often a worker with nothing to reserve looks again
INSTALL_PG = "PostgreSQL storage needs psycopg 3: pip install 'archbench[tune]'"


class Shared:
    """One study's storage plus the reservation lock and the dead-trial check that fit it."""

    def __init__(self, optuna, kind: str, storage, where: str, lock_path: Optional[Path] = None,
                 owners: Optional[Path] = None):
        self.optuna, self.kind, self.storage, self.where = optuna, kind, storage, where
        self.lock_path, self.owners = lock_path, owners
        self.retry = retry_callback(optuna)

    # ------------------------------------------------------------ reservation
    @contextlib.contextmanager
    def reserving(self, study_name: str):
        """Study-wide mutual exclusion around count-then-ask (held for milliseconds)."""
        if self.kind == "postgresql":
            key = int.from_bytes(study_name.encode()[:8].ljust(8, b"\0"), "big") & 0x7FFFFFFFFFFFFFFF
            with self.storage.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        else:
            with file_lock(self.lock_path):
                yield

    # ------------------------------------------------------------ liveness
    def owner_file(self, trial_id: int) -> Path:
        return self.owners / f"trial-{trial_id}.json"

    @contextlib.contextmanager
    def alive(self, trial_id: int):
        """While the body runs, tell other workers that this trial's owner lives."""
        stop = threading.Event()
        if self.kind == "postgresql":
            beat: Callable[[], None] = lambda: self.storage.record_heartbeat(trial_id)
        else:
            path = self.owner_file(trial_id)
            atomic_write_text(path, json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                                "started": time.time()}))
            beat = lambda: os.utime(path)
        beat()

        def loop():
            while not stop.wait(HEARTBEAT_S):
                with contextlib.suppress(Exception):  # a missed beat only makes the trial look older
                    beat()

        thread = threading.Thread(target=loop, name="archbench-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            if self.kind != "postgresql":
                with contextlib.suppress(FileNotFoundError):
                    self.owner_file(trial_id).unlink()

    def owner_dead(self, trial_id: int) -> bool:
        path = self.owner_file(trial_id)
        try:
            owner = json.loads(path.read_text())
            age = time.time() - path.stat().st_mtime
        except (OSError, ValueError):
            # no owner file: written before the trial starts, so its worker died between asking and
            # writing, or the trial was left by an archbench without owner files
            return True
        if owner.get("host") == socket.gethostname():
            return not pid_alive(int(owner.get("pid", -1)))
        return age > GRACE_S

    def stale_ids(self, study):
        """Ids of the RUNNING trials whose worker is dead."""
        S = self.optuna.trial.TrialState
        if self.kind == "postgresql":  # Optuna's heartbeat: silent for longer than grace_period
            return list(self.storage._get_stale_trial_ids(study._study_id))
        return [t._trial_id for t in study.get_trials(deepcopy=False, states=(S.RUNNING,))
                if self.owner_dead(t._trial_id)]

    def fail_dead(self, study) -> int:
        """Fail the trials whose worker is dead and queue a retry of each (same parameters);
        returns how many. Runs under the reservation lock, so no two workers fail one trial."""

        S = self.optuna.trial.TrialState
        n = 0
        for trial_id in self.stale_ids(study):
            try:
                self.storage.set_trial_user_attr(trial_id, "error", "interrupted")
                if not self.storage.set_trial_state_values(trial_id, state=S.FAIL):
                    continue
            except self.optuna.exceptions.UpdateFinishedTrialError:
                continue  # it ended after all
            dead = copy.deepcopy(self.storage.get_trial(trial_id))
            dead.user_attrs = {k: v for k, v in dead.user_attrs.items() if k not in ("error", "epochs", "worker")}
            self.retry(study, dead)
            if self.owners is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.owner_file(trial_id).unlink()
            n += 1
        return n


def retry_callback(optuna):
    """Optuna's retry of a stale trial with the same parameters (at most twice per trial)."""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pg_url(url: str) -> str:
    """postgresql://... -> postgresql+psycopg://... (psycopg 3, not SQLAlchemy's default psycopg2)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise UsageError(f"--storage {url!r}: only psycopg 3 is supported (postgresql:// or postgresql+psycopg://)")


def open_storage(optuna, spec: Optional[str], out_dir: Path) -> Shared:
    """``--storage`` text (None: OUT/study.db) -> a Shared study storage."""
    if not spec:
        db = (Path(out_dir) / "study.db").resolve()
        return Shared(optuna, "sqlite", optuna.storages.RDBStorage(f"sqlite:///{db}"), str(db),
                      lock_path=db.with_name("study.db.lock"), owners=ensure(db.with_name("study.owners")))
    if spec.startswith("journal:"):
        path = Path(spec[len("journal:"):]).expanduser()
        if not spec[len("journal:"):]:
            raise UsageError("--storage journal:PATH needs a file path")
        ensure(path.parent)
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        try:
            backend = JournalFileBackend(str(path))
        except OSError as e:
            raise UsageError(f"--storage {spec}: cannot open {path}: {e.strerror or e}") from None
        return Shared(optuna, "journal", JournalStorage(backend), str(path),
                      lock_path=path.with_name(path.name + ".reserve.lock"),
                      owners=ensure(path.with_name(path.name + ".owners")))
    if spec.startswith(("postgresql", "postgres://")):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise UsageError(INSTALL_PG) from None
        url = pg_url(spec)
        try:
            # no stale-trial callback: fail_dead fails and retries them itself, under the reservation lock
            storage = optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S)
        except Exception as e:  # sqlalchemy.exc.OperationalError: server down, bad password, ...
            raise UsageError(f"--storage: cannot reach the database: {str(e).splitlines()[0][:200]}") from None
        return Shared(optuna, "postgresql", storage, url.split("@")[-1])
    if spec.startswith("sqlite:///"):
        path = Path(spec[len("sqlite:///"):])
        ensure(path.parent)
        return Shared(optuna, "sqlite", optuna.storages.RDBStorage(spec), str(path),
                      lock_path=path.with_name(path.name + ".lock"), owners=ensure(path.with_name(path.name + ".owners")))
    raise UsageError(f"--storage {spec!r}: give journal:PATH, postgresql://USER@HOST/DB or sqlite:///PATH")


def ensure(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create {folder}: {e.strerror or e}") from None
    return folder


def counts(optuna, study) -> Dict[str, int]:
    S = optuna.trial.TrialState
    out = {s.name.lower(): 0 for s in (S.COMPLETE, S.PRUNED, S.FAIL, S.RUNNING, S.WAITING)}
    for t in study.get_trials(deepcopy=False):
        out[t.state.name.lower()] = out.get(t.state.name.lower(), 0) + 1
    return out


def run_trials(shared: Shared, study_name: str, make_study: Callable[[int], Any], objective: Callable[[Any], float],
               target: int, deadline: Optional[float], report: Callable[[Any], None],
               log: Callable[[str], None], errors: tuple = ()) -> Any:
    """Work on the study until it holds ``target`` complete trials (or the deadline passes).

    make_study(number) opens the study with a sampler seeded by the next trial's number (the same
    proposals however the trials are spread over workers and restarts); errors fail one trial, any
    other exception ends the worker (its trial is then failed by whoever looks next). Returns the study."""
    optuna = shared.optuna
    S = optuna.trial.TrialState
    study = make_study(0)
    errors_in_a_row = 0
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            log("time budget reached; rerun to continue")
            return study
        with shared.reserving(study_name):
            if shared.fail_dead(study):
                log("a dead worker's trial was marked failed; it will be retried")
            c = counts(optuna, study)
            if c["complete"] >= target:
                return study
            trial = None
            if c["complete"] + c["running"] < target:
                study = make_study(len(study.get_trials(deepcopy=False)))
                trial = study.ask()  # RUNNING from here on: reserved
                trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
                # the owner file is written before the lock is released, so no one takes it for dead
                ctx = shared.alive(trial._trial_id)
                ctx.__enter__()
        if trial is None:  # every remaining trial is running elsewhere: wait for them to end or die
            time.sleep(WAIT_S)
            continue
        state, value = S.FAIL, None
        try:
            value = objective(trial)
            state = S.COMPLETE if value == value else S.FAIL  # NaN: a diverged run
        except optuna.TrialPruned:
            state = S.PRUNED
        except errors as e:
            if "error" not in trial.user_attrs:
                trial.set_user_attr("error", str(e).splitlines()[0][:300] if str(e) else type(e).__name__)
        study.tell(trial, value if state == S.COMPLETE else None, state=state)
        ctx.__exit__(None, None, None)
        report(study.get_trials(deepcopy=False)[trial.number])
        errors_in_a_row = errors_in_a_row + 1 if state == S.FAIL else 0
        if errors_in_a_row >= max(5, target):
            log(f"{errors_in_a_row} trials in a row failed: stopping (see trials.csv)")
            return study


def start_local_workers(args, out_dir: Path):
    """``tune --jobs N``: N-1 helper processes of this very command, on one journal file (SQLite is
    for one process). Returns (the storage this process uses, the helper processes)."""

    jobs = getattr(args, "jobs", 1) or 1
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    storage = args.storage
    if args.worker and not storage:
        raise UsageError("--worker joins a shared study: give its --storage journal:PATH or postgresql://...")
    if jobs == 1:
        return storage, []
    if storage and storage.startswith("sqlite"):
        raise UsageError("SQLite is for one process: --jobs N needs --storage journal:PATH or postgresql://...")
    storage = storage or f"journal:{(out_dir / 'study.journal').resolve()}"
    ensure(out_dir)
    argv, skip = [], False
    for a in sys.argv[1:]:  # this command less --jobs/--out/--storage, which each helper gets its own of
        if skip:
            skip = False
        elif a in ("--jobs", "--out", "--storage"):
            skip = True
        elif not a.startswith(("--jobs=", "--out=", "--storage=")):
            argv.append(a)
    helpers = [subprocess.Popen([sys.executable, "-m", "archbench", *argv, "--worker", "--storage", storage,
                                 "--out", str(out_dir / "workers" / f"w{k}")]) for k in range(1, jobs)]
    return storage, helpers
