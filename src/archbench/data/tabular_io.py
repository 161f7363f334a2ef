"""Reading the user's delimited files (CSV, TSV, JSONL, Parquet) with errors that name file and line.

``read_records(path)`` -> :class:`Records`: column names, rows of str/None cells (None = absent),
the file line each row starts on, and which rows held bytes that are not UTF-8. Cells stay
strings here; each loader decides what a column is. Undecodable bytes never stop the reading:
they are kept (as surrogates) and the row is flagged, so a loader can skip it with a count
(``skip_bad_rows``) or name its line in a one-line error.
"""
from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from ..errors import DataError

MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a"}
_BAD_BYTES = re.compile("[\udc80-\udcff]")  # what surrogateescape turns non-UTF-8 bytes into


@dataclass
class Records:
    path: Path
    columns: List[str]
    rows: List[List[Optional[str]]]
    lines: List[int]  # 1-based file line where each row starts
    bad_bytes: List[bool] = field(default_factory=list)

    def where(self, i: int) -> str:
        return f"{self.path}:{self.lines[i]}"

    def column(self, name: str) -> List[Optional[str]]:
        j = self.columns.index(name)
        return [r[j] for r in self.rows]


def is_missing(v: Optional[str]) -> bool:
    return v is None or v.strip().lower() in MISSING


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    if not raw.strip():
        raise DataError(f"{path} is empty")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("utf-8", errors="surrogateescape")


def _delimiter(path: Path, text: str) -> str:
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_delimited(path: Path) -> Records:
    text = _decode(path)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long documents in one cell
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(path, text))
    header, rows, lines, bad = None, [], [], []
    start = 1
    try:
        for row in reader:
            if header is None:
                header = [c.strip() for c in row]
                if not any(header):
                    raise DataError(f"{path}:1: the first line must name the columns")
            elif row and any(c.strip() for c in row):
                if len(row) != len(header):
                    raise DataError(f"{path}:{start}: {len(row)} fields where the header has {len(header)}")
                rows.append(row)
                lines.append(start)
                bad.append(any(_BAD_BYTES.search(c) for c in row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num}: not valid CSV ({e})") from None
    if header is None or not rows:
        raise DataError(f"{path} has no data rows (a header line and at least one row are needed)")
    return Records(path, header, rows, lines, bad)


def read_jsonl(path: Path) -> Records:
    text = _decode(path)
    objs, lines, bad = [], [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise DataError(f"{path}:{n}: not a JSON object ({str(e).splitlines()[0]})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{n}: expected a JSON object per line, found {type(obj).__name__}")
        objs.append(obj)
        lines.append(n)
        bad.append(bool(_BAD_BYTES.search(line)))
    if not objs:
        raise DataError(f"{path} has no JSON lines")
    columns = list(dict.fromkeys(k for o in objs for k in o))
    rows = [[None if o.get(c) is None else str(o[c]) for c in columns] for o in objs]
    return Records(path, columns, rows, lines, bad)


def read_parquet(path: Path) -> Records:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install 'archbench[parquet]'") from None
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises its own types for damaged files
        raise DataError(f"cannot read Parquet {path}: {str(e).splitlines()[0][:120]}") from None
    if table.num_rows == 0:
        raise DataError(f"{path} has no rows")
    cols = [[None if v is None else str(v) for v in table.column(i).to_pylist()] for i in range(table.num_columns)]
    rows = [list(r) for r in zip(*cols)]
    # a Parquet file has no lines: row i is reported as "line" i + 2, as if a header preceded it
    return Records(path, list(table.column_names), rows, list(range(2, len(rows) + 2)), [False] * len(rows))


def read_records(path: Path) -> Records:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return read_parquet(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(path)
    return read_delimited(path)


def to_float(values: List[Optional[str]]) -> Optional[List[float]]:
    """Floats (NaN for missing) when every present value is a number, else None."""
    out = []
    for v in values:
        if is_missing(v):
            out.append(float("nan"))
            continue
        try:
            out.append(float(v))
        except ValueError:
            return None
    return out


__all__ = ["Records", "read_records", "is_missing", "to_float", "MISSING"]
