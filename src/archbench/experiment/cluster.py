"""``compare --cluster ray``: every run of a comparison grid as a Ray task (``pip install 'archbench[cluster]'``).

The driver (the ``archbench compare`` process) keeps everything it does today: it holds the comparison
directory, resolves and checks every run's config before the first trains, and writes every file. Each
task trains into a temporary directory on its node and returns that run directory's files (bytes);
the driver commits them under OUT/runs/... with the atomic writer, exactly where a local compare puts
them. With ``--shared-fs`` (every node sees OUT at the same path) a task trains into OUT directly.

Resources: ``num_cpus`` = the run's threads (default 1), ``num_gpus=1`` for a GPU run, so a cluster of
GPU machines runs one model per GPU. ``max_calls=1``: each run gets a fresh worker process, as a local
``--jobs`` run does, so that no state a process builds up reaches the next run's numbers. A worker that
dies mid-run is retried by Ray (``max_retries``); only the result that comes back is committed, so a
run is never counted twice. A killed driver leaves the finished runs it had committed; ``--resume``
keeps them and sends only the others again.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import multiprocessing as mp
import os
import signal
import socket
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..config import TrainConfig
from ..errors import UsageError
from ..files import LOCK_NAME, atomic_write_bytes
from ..rundir import FINISHED_MARKER
from .run import train
from .tune import tune

INSTALL = "--cluster ray needs Ray: pip install 'archbench[cluster]'"
MAX_RETRIES = 2                  # a run whose worker died is sent again, at most this often
DRIVER_ONLY = ("folder:", "csv:", "ucr:", "text:", "table:")  # data kinds that name files on this machine


def import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL) from None
    return ray


def pack_dir(folder: Path) -> Dict[str, bytes]:
    """Every file under ``folder`` but its lock -> {relative posix path: bytes}."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != LOCK_NAME}


def unpack_dir(folder: Path, files: Dict[str, bytes]) -> None:
    """Write ``files`` (from pack_dir) under ``folder``, each atomically; refuses paths leaving it.

    metrics.json goes last: it is what makes a run directory "finished" (rundir.run_state), so a
    driver killed part-way leaves an interrupted run that --resume sends again, never a finished one
    without its predictions."""
    root = folder.resolve()
    for rel, data in sorted(files.items(), key=lambda kv: kv[0] == FINISHED_MARKER):
        dest = (root / rel).resolve()
        if root not in dest.parents:
            raise UsageError(f"a cluster task returned a file outside its run directory: {rel!r}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(dest, data)


def train_task(cfg_dict: Dict[str, Any], resume_files: Optional[Dict[str, bytes]], shared_fs: bool) -> Dict[str, Any]:
    """One run on a worker node. Returns {"metrics", "files" (None with a shared file system), "host",
    "threads"}."""


    threads = int(cfg_dict.get("threads") or 1)
    torch.set_num_threads(threads)  # explicit: never the node's core count
    if shared_fs:
        cfg = TrainConfig.from_dict(cfg_dict)
        resume = Path(cfg.out) if resume_files is not None else None
        res = train(cfg, resume=resume, replace_interrupted=True)
        return {"metrics": metrics_only(res.metrics), "files": None, "host": socket.gethostname(), "threads": threads}
    with tempfile.TemporaryDirectory(prefix="archbench-run-") as tmp:
        run = Path(tmp) / "run"
        if resume_files:
            unpack_dir(run, resume_files)
        cfg = TrainConfig.from_dict({**cfg_dict, "out": str(run)})
        res = train(cfg, resume=run if resume_files else None, replace_interrupted=True)
        return {"metrics": metrics_only(res.metrics), "files": pack_dir(run), "host": socket.gethostname(),
                "threads": threads}


def tune_task(model: str, data: str, base: Dict[str, Any], trials: int, files: Optional[Dict[str, bytes]],
              out: Optional[str]) -> Dict[str, Any]:
    """``compare --tune N`` for one (data, model) pair on a worker node: the study in a temporary folder
    (or in ``out`` on a shared file system), resumed from ``files``. Returns {"best_params", "files", "host"}."""
    torch.set_num_threads(int(base.get("threads") or 1))
    with tempfile.TemporaryDirectory(prefix="archbench-tune-") as tmp:
        folder = Path(out) if out is not None else Path(tmp) / "tune"
        if files and out is None:
            unpack_dir(folder, files)
        res = tune(TrainConfig(model=model, data=data), base, trials, folder, seed=0)
        return {"best_params": dict(res["best_params"]), "files": None if out is not None else pack_dir(folder),
                "host": socket.gethostname()}


def metrics_only(metrics: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in metrics.items() if not k.startswith("_")}


def ray_result(ray, ref, died: str) -> Dict[str, Any]:
    """A task's return value; a task that failed raises its own one-line error, a task whose worker
    died more often than Ray retries it raises UsageError(died)."""
    from ray.exceptions import RayTaskError, WorkerCrashedError  # ray is an optional extra

    try:
        return ray.get(ref)
    except RayTaskError as e:
        raise (e.cause if getattr(e, "cause", None) is not None else e) from None
    except WorkerCrashedError:
        raise UsageError(died) from None


class RayFuture:
    """What compare's gathering loop calls ``result()`` on: waits for the task, commits its files."""

    def __init__(self, ray, ref, out_dir: Path, shared_fs: bool):
        self.ray, self.ref, self.out_dir, self.shared_fs = ray, ref, out_dir, shared_fs

    def result(self) -> Dict[str, Any]:
        got = ray_result(self.ray, self.ref, f"{self.out_dir}: its worker died {MAX_RETRIES + 1} times; "
                         "--resume sends it again")
        if not self.shared_fs:
            fix_out(got["files"], self.out_dir)
            unpack_dir(self.out_dir, got["files"])
        # the cost columns name where they were measured
        return {**got["metrics"], "host": got["host"], "threads": got["threads"]}


class RayTuneFuture:
    """``result()`` waits for a tuning task, commits its study folder and gives the best parameters."""

    def __init__(self, ray, ref, out_dir: Path, shared_fs: bool):
        self.ray, self.ref, self.out_dir, self.shared_fs = ray, ref, out_dir, shared_fs

    def result(self) -> Dict[str, Any]:
        got = ray_result(self.ray, self.ref, f"{self.out_dir}: its tuning worker died {MAX_RETRIES + 1} times; "
                         "run again to continue the study")
        if not self.shared_fs:
            unpack_dir(self.out_dir, got["files"])
        return got["best_params"]


def fix_out(files: Dict[str, bytes], out_dir: Path) -> None:
    """config.json records the run's folder: the driver's, not the task's temporary one."""
    if "config.json" in files:
        cfg = json.loads(files["config.json"])
        if isinstance(cfg.get("train"), dict):
            cfg["train"]["out"] = str(out_dir)
            files["config.json"] = (json.dumps(cfg, indent=2) + "\n").encode()


class RayPool:
    """compare's executor for ``--cluster ray``: ``submit(fn, cfg, resume_dir)`` like a process pool."""

    def __init__(self, address: Optional[str] = None, shared_fs: bool = False):
        address = address or os.environ.get("RAY_ADDRESS")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if not address:  # read when Ray is imported: a local instance then listens on 127.0.0.1 only
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        ray = import_ray()
        self.ray, self.shared_fs = ray, shared_fs
        if not ray.is_initialized():
            try:
                if address:
                    ray.init(address=address, log_to_driver=False)
                else:  # a Ray instance of this machine alone, reachable only from it
                    ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1",
                             log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise UsageError(f"--cluster ray: cannot reach Ray at {address or 'a new local instance'}: "
                                 f"{str(e).splitlines()[0][:200]}") from None
        self.gpus = float(ray.cluster_resources().get("GPU", 0))
        self.task = ray.remote(max_calls=1, max_retries=MAX_RETRIES)(train_task)
        self.tune_task = ray.remote(max_calls=1, max_retries=MAX_RETRIES)(tune_task)
        self.submitted: List[Any] = []

    def submit(self, fn, cfg: TrainConfig, resume: Optional[Path] = None) -> RayFuture:
        del fn  # the task is always train_task: the same training as compare's train_metrics
        check_data_reachable(cfg, self.shared_fs)
        cfg.threads = cfg.threads or 1
        gpu = cfg.device == "cuda" or (cfg.device == "auto" and self.gpus >= 1)
        resume_files = None
        if resume is not None:
            resume_files = {} if self.shared_fs else pack_dir(resume)
        ref = self.task.options(num_cpus=cfg.threads, num_gpus=1 if gpu else 0).remote(
            cfg.to_dict(), resume_files, self.shared_fs)
        self.submitted.append(ref)
        return RayFuture(self.ray, ref, Path(cfg.out), self.shared_fs)

    def submit_tune(self, model: str, data: str, base: Dict[str, Any], trials: int, out_dir: Path) -> RayTuneFuture:
        """One pair's study as a task (a study is trained trial after trial, so one CPU, or one GPU)."""
        cfg = TrainConfig(model=model, data=data, data_dir=base.get("data_dir"))
        check_data_reachable(cfg, self.shared_fs)
        base = {**base, "threads": base.get("threads") or 1}
        gpu = base.get("device") == "cuda" or (base.get("device", "auto") == "auto" and self.gpus >= 1)
        files = None if self.shared_fs or not out_dir.is_dir() else pack_dir(out_dir)
        ref = self.tune_task.options(num_cpus=base["threads"], num_gpus=1 if gpu else 0).remote(
            model, data, base, trials, files, str(out_dir) if self.shared_fs else None)
        return RayTuneFuture(self.ray, ref, out_dir, self.shared_fs)

    def shutdown(self) -> None:
        pass  # the Ray instance stays up for the driver's process (a cluster outlives it anyway)


def check_data_reachable(cfg: TrainConfig, shared_fs: bool) -> None:
    """Data that names files on the driver cannot be read on another node unless OUT's file system is shared."""
    if shared_fs:
        return
    if any(str(cfg.data).startswith(k) for k in DRIVER_ONLY) or cfg.data_dir:
        what = cfg.data if not cfg.data_dir else f"--data-dir {cfg.data_dir}"
        raise UsageError(f"--cluster ray: {what} is read from this machine's files, which other nodes do not see; "
                         "give --shared-fs if every node sees them at the same path")


def die_with_parent() -> None:
    """In a --jobs worker: be killed when the compare process dies, however it dies (kill -9 included).
    An orphaned worker would otherwise finish its run and hold that run's lock while `--resume` starts."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux); elsewhere the call fails and nothing changes
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before the call took effect
        os._exit(1)


def executor(jobs: int, cluster: Optional[str] = None, address: Optional[str] = None, shared_fs: bool = False):
    """The pool compare submits runs to: None (in-process), local processes (--jobs N) or Ray."""
    if cluster is None:
        if shared_fs or address:
            raise UsageError("--address and --shared-fs go with --cluster ray")
        if jobs <= 1:
            return None

        # spawn: a fresh interpreter per worker, never a fork of a process that already runs torch threads
        return ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=die_with_parent)
    if cluster != "ray":
        raise UsageError(f"--cluster takes ray, got {cluster!r}")
    return RayPool(address, shared_fs)
