"""What the Python API returns: plain data that also renders as a table in a notebook.

``RunResult`` (``train_model``), ``ComparisonResult`` (``compare_models``) and ``Record`` (a dict:
``evaluate_run``, one row of ``predict``) each have ``_repr_html_``, so Jupyter shows them as tables,
and a plain ``repr`` for the terminal.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import torch

from ..data.base import DataBundle
from ..report.html_markup import format_value


def html_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A small HTML table (notebook output); every cell escaped."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(format_value(c)))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def public(metrics: Dict[str, Any]) -> Dict[str, Any]:
    """Metrics without the in-memory extras (keys starting with ``_``, such as the test outputs)."""
    return {k: v for k, v in metrics.items() if not k.startswith("_")}


class Record(dict):
    """A dict (of metrics, or one prediction) that Jupyter shows as a two-column table."""

    def _repr_html_(self) -> str:
        return html_table(["", "value"], [(k, v) for k, v in self.items() if not str(k).startswith("_")])


@dataclass
class RunResult:
    run_dir: Optional[Path]
    metrics: Dict[str, Any]
    history: List[Dict[str, Any]]
    model: torch.nn.Module
    bundle: DataBundle

    def _repr_html_(self) -> str:
        title = f"<p><b>{html.escape(str(self.metrics.get('model', 'run')))}</b> on {html.escape(str(self.metrics.get('data', '')))}"
        title += f" &rarr; <code>{html.escape(str(self.run_dir))}</code></p>" if self.run_dir else "</p>"
        return title + Record(public(self.metrics))._repr_html_()


@dataclass
class ComparisonResult:
    """The runs of a comparison (one row per run) and the folder its tables, figures and page are in."""

    rows: List[Dict[str, Any]]
    out: Path

    @property
    def table(self) -> str:
        """The comparison table (Markdown), as ``comparison.md`` holds it."""
        return (self.out / "comparison.md").read_text(encoding="utf-8")

    @property
    def report(self) -> Path:
        return self.out / "report.html"

    def __getitem__(self, key: str) -> Any:  # the dict this used to be: result["rows"], result["out"]
        return {"rows": self.rows, "out": self.out}[key]

    def _repr_html_(self) -> str:
        cols = ["data", "model", "seed", "test_accuracy", "test_mae", "train_seconds", "params"]
        cols = [c for c in cols if any(c in r for r in self.rows)]
        return (f"<p>comparison in <code>{html.escape(str(self.out))}</code> (page: report.html)</p>"
                + html_table(cols, [[r.get(c, "") for c in cols] for r in self.rows]))
