"""How results look in Jupyter: small HTML tables for a run's result and a comparison.

``RunResult._repr_html_`` and :class:`ComparisonResult` use these, so that the last expression of a
notebook cell (``result`` or ``comparison``) renders as a table instead of a long repr.
"""
from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any, Dict, List, Sequence

# the metrics a run's table shows first, when present (the rest of metrics.json stays in the file)
RUN_KEYS = ("model", "data", "seed", "test_accuracy", "test_loss", "test_mae", "test_rmse", "best_val_accuracy",
            "epochs_run", "train_seconds", "params", "stop_reason")


def html_table(header: Sequence[Any], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    """An escaped HTML table (header row, then body rows)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def run_result_html(result) -> str:
    """A two-column table of a run's headline metrics, captioned with its directory."""
    m: Dict[str, Any] = result.metrics or {}
    rows = [(k, fmt(m[k])) for k in RUN_KEYS if k in m and not isinstance(m[k], (dict, list))]
    where = f"run {result.run_dir}" if result.run_dir else "run (not written)"
    return html_table(["metric", "value"], rows, caption=where)


def comparison_html(rows: List[Dict[str, Any]], out: Path) -> str:
    """A comparison as the table it wrote (comparison.csv: mean ± std per data set and model), or, before
    that file exists, one row per run."""
    path = Path(out) / "comparison.csv"
    if not path.is_file():
        cols = [c for c in ("data", "model", "seed", "test_accuracy", "test_mae") if any(c in r for r in rows)]
        return html_table(cols, [[fmt(r.get(c, "")) for c in cols] for r in rows], caption=f"comparison {out}")
    with open(path, newline="", encoding="utf-8") as f:
        table: List[List[str]] = list(csv.reader(f))
    return html_table(table[0], table[1:], caption=f"comparison {out}")


__all__ = ["html_table", "run_result_html", "comparison_html"]
