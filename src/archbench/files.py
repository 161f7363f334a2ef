"""Writing files safely: the one atomic writer, JSON/CSV/Markdown writers, safe names, file locks.

Every file archbench writes goes through ``atomic_write``: the bytes go to a temporary name in the
same folder, are fsynced, renamed over the target, and the folder is fsynced, so a crash, a
``kill -9`` or a power cut leaves either the old file or the new one, never half of either.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


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
