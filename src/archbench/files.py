"""Writing files safely: the one atomic writer, JSON/CSV/Markdown writers, safe names, file locks.

Every file archbench writes goes through ``atomic_write``: the bytes go to a temporary name in the
same folder, are fsynced, renamed over the target, and the folder is fsynced, so a crash, a
``kill -9`` or a power cut leaves either the old file or the new one, never half of either.
"""
from __future__ import annotations

import csv
import errno
import io
import json
import os
import signal
import socket
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from .errors import DirectoryBusy, WriteFailed

WRITE_ERRNOS = (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT, errno.EPERM, errno.EFBIG)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)``, then rename the result over ``path`` (same folder: atomic)."""
    path = Path(path)
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(tmp)
        _fault_write(path, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as e:
        if e.errno not in WRITE_ERRNOS:
            raise
        # one line for the user; the target still holds its previous complete version, if it had one
        raise WriteFailed(f"cannot write {path}: {e.strerror or e}"
                          + ("; its previous version is kept" if path.exists() else "")) from None
    finally:
        if tmp and os.path.exists(tmp):
            try:
                os.remove(tmp)
            except OSError:
                pass


def atomic_write_text(path: Path, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    atomic_write(path, write)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write)


def dumps(obj: Any) -> str:
    """JSON as archbench writes it: indented, keys in insertion order, anything else as ``str``."""
    return json.dumps(obj, indent=2, sort_keys=False, default=str)


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, dumps(obj) + "\n")


def csv_text(header: Sequence[str], body: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(body)
    return buf.getvalue()


def rows_csv_text(rows: List[Dict[str, Any]], fmt: Optional[Callable[[Any], Any]] = None) -> str:
    """Rows of dicts as CSV text, columns in first-seen order; ``fmt`` formats each value."""
    cols: List[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for row in rows:
        w.writerow({k: fmt(v) for k, v in row.items()} if fmt else row)
    return buf.getvalue()


def write_rows_csv(path: Path, rows: List[Dict[str, Any]], fmt: Optional[Callable[[Any], Any]] = None) -> None:
    """Rows of dicts as a CSV file (columns in first-seen order), written atomically; nothing if empty."""
    if rows:
        atomic_write_text(path, rows_csv_text(rows, fmt))


def markdown_table(header: Sequence[str], body: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table, one line per row, ending in a newline."""
    lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def safe_name(text: Any, keep: str = "-_.", limit: int = 40) -> str:
    """``text`` as a file-name part: letters, digits and ``keep`` stay, the rest become ``_``."""
    return "".join(c if c.isalnum() or c in keep else "_" for c in str(text))[:limit]


class file_lock:
    """An exclusive advisory lock on ``path`` (POSIX flock; a no-op where fcntl is missing).

    Used so that DDP ranks or parallel jobs build one cache, not several.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def __enter__(self) -> "file_lock":
        self.f = open(self.path, "a+")
        try:
            import fcntl
        except ImportError:  # Windows: no flock; caches are then built per process
            return self
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.f.close()  # closing releases the lock


# ---------------------------------------------------------------- fault injection (tests and benchmarks/faults.py)
#
# ARCHBENCH_FAULT="kind:point=K[,kind:point=K...]" makes a failure happen at the same place every time:
#   kill:step=K              SIGKILL just after the K-th optimiser step of this process (1-based)
#   stop:step=K              SIGSTOP there: the process stays alive, holding its lock, until a signal
#                            (a test's stand-in for a run that is slow at the moment another one starts)
#   nan:step=K               the K-th step's loss becomes NaN (the loop's non-finite check must stop it)
#   kill:checkpoint_write=K  SIGKILL inside the K-th checkpoint write: temp file half written, not renamed
#   kill:write=K             the same inside the K-th file write of any kind
#   enospc:write=K / enospc:checkpoint_write=K / erofs:write=K
#                            that write raises OSError(ENOSPC / EROFS) after a partial temp file
# Read once, at the first use; with the variable unset every hook is a dict lookup that finds nothing.

_FAULTS: Optional[Dict[tuple, int]] = None
_COUNTS: Dict[str, int] = {"step": 0, "write": 0, "checkpoint_write": 0}
FAULT_KINDS = ("kill", "stop", "nan", "enospc", "erofs")
FAULT_POINTS = ("step", "write", "checkpoint_write")


def _faults() -> Dict[tuple, int]:
    global _FAULTS
    if _FAULTS is None:
        plan: Dict[tuple, int] = {}
        for part in filter(None, os.environ.get("ARCHBENCH_FAULT", "").replace(" ", "").split(",")):
            try:
                kind, rest = part.split(":", 1)
                point, k = rest.split("=", 1)
                if kind not in FAULT_KINDS or point not in FAULT_POINTS:
                    raise ValueError
                plan[(point, int(k))] = kind
            except ValueError:
                raise ValueError(f"ARCHBENCH_FAULT: cannot read {part!r}; expected KIND:POINT=K with KIND in "
                                 f"{'/'.join(FAULT_KINDS)} and POINT in {'/'.join(FAULT_POINTS)}") from None
        _FAULTS = plan
    return _FAULTS


def reset_faults() -> None:
    """Forget the parsed plan and the counters (tests that change ARCHBENCH_FAULT in one process)."""
    global _FAULTS
    _FAULTS = None
    for k in _COUNTS:
        _COUNTS[k] = 0


def _kill() -> None:
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def fault_step() -> Optional[str]:
    """Called once per optimiser step: kills at the planned step, or returns "nan" for a poisoned loss."""
    plan = _faults()
    if not plan:
        return None
    _COUNTS["step"] += 1
    kind = plan.get(("step", _COUNTS["step"]))
    if kind == "kill":
        _kill()
    if kind == "stop":
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSTOP)
        return None
    return kind


def _fault_write(path: Path, tmp: str) -> None:
    """Inside atomic_write, after the temp file is complete and before the rename."""
    plan = _faults()
    if not plan:
        return
    _COUNTS["write"] += 1
    kinds = [plan.get(("write", _COUNTS["write"]))]
    if path.name.startswith("checkpoint"):
        _COUNTS["checkpoint_write"] += 1
        kinds.append(plan.get(("checkpoint_write", _COUNTS["checkpoint_write"])))
    kind = next((k for k in kinds if k), None)
    if kind is None:
        return
    size = os.path.getsize(tmp)
    os.truncate(tmp, size // 2)  # as a crash or a full disk leaves it: a partial temp file
    if kind == "kill":
        _kill()
    code = errno.ENOSPC if kind == "enospc" else errno.EROFS
    raise OSError(code, os.strerror(code), str(path))


# ---------------------------------------------------------------- one writer per directory

LOCK_NAME = ".archbench.lock"
_HELD: Dict[str, Any] = {}  # real path -> open lock file, held until release_dir or the process ends
LOCKED_ENV = "ARCHBENCH_LOCKED"  # directories an ancestor process (torchrun launcher) holds for us


def lock_dir(folder: Path, command: str = "") -> None:
    """Take FOLDER/.archbench.lock for this process, or raise DirectoryBusy naming the holder.

    The lock is flock(LOCK_EX | LOCK_NB) on a file opened without truncation: the kernel drops it when
    the holder dies however it dies (kill -9 included), so a dead process's lock is taken over by the
    next writer, atomically, with no stale-pid guessing; a rival's content is never overwritten
    before its lock is ours. Content (pid, host, start time, command) is only there to name the holder.
    Re-entrant within a process; directories listed in ARCHBENCH_LOCKED are held by an ancestor.
    """
    folder = Path(folder)
    key = os.path.realpath(folder)
    if key in _HELD or key in os.environ.get(LOCKED_ENV, "").split(os.pathsep):
        return
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no lock, as before
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    f = os.fdopen(fd, "r+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "a process that has not yet written its name"
        f.close()
        try:
            info = json.loads(holder)
            holder = f"pid {info['pid']} on {info['host']} since {info['started']} ({info['command']})"
        except (ValueError, KeyError, TypeError):
            pass
        raise DirectoryBusy(f"{folder} is being written by another archbench process: {holder}; "
                            f"wait for it, stop it, or choose another folder") from None

    f.seek(0)
    f.truncate()
    f.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "command": command or " ".join(["archbench", *sys.argv[1:]])[:200]}))
    f.flush()
    _HELD[key] = f


def release_dir(folder: Path) -> None:
    """Drop this process's lock on FOLDER (the lock file stays: deleting it would race a new taker)."""
    f = _HELD.pop(os.path.realpath(folder), None)
    if f is not None:
        f.close()


def held_dirs() -> List[str]:
    return list(_HELD)
