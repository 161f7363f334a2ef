"""The comparison page's raw-results section: results.csv (one row per run, every metric) as a clean
table. Columns no run filled are left out, numbers are written one way (whole numbers whole, others
to 4 significant digits), and run_dir becomes a link to that run's page instead of a path token.

    raw_results_section(comparison_dir) -> (HTML, number of columns shown) or ("", 0)
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import List, Tuple

from .html_markup import esc, table, url

FILE = "results.csv"


def _number(text: str) -> str:
    try:
        v = float(text)
    except ValueError:
        return esc(text)
    if v != v or v in (float("inf"), float("-inf")):
        return esc(text)
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}" if abs(v) >= 10_000 else str(int(v))
    return f"{v:.4g}"


def raw_results_section(d: Path) -> Tuple[str, int]:
    path = Path(d) / FILE
    if not path.is_file():
        return "", 0
    try:
        rows: List[dict] = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    except (OSError, UnicodeDecodeError, csv.Error):
        return f'<p class="note">{esc(FILE)} could not be read.</p>', 0
    if not rows:
        return "", 0
    cols = [c for c in rows[0] if any((r.get(c) or "").strip() for r in rows)]
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = (r.get(c) or "").strip()
            if c == "run_dir" and v:
                cells.append(f'<a href="{esc(url(v.rstrip("/") + "/report.html"))}">{esc(Path(v).name)}</a>')
            else:
                cells.append(_number(v) if v else "")
        body.append(cells)
    note = (f'<p class="note">One row per run, every metric ({len(cols)} columns; empty ones left out). '
            f'The same as <a href="{esc(url(FILE))}">{esc(FILE)}</a>.</p>')
    return note + table(cols, body, sortable=True, raw=True), len(cols)
