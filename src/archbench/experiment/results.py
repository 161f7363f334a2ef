"""What the Python API returns: plain data that also renders as a table in a notebook.

``RunResult`` (``train_model``), ``ComparisonResult`` (``compare_models``) and ``Record`` (a dict:
``evaluate_run``, one row of ``predict``) each have ``_repr_html_``, so Jupyter shows them as tables,
and a plain ``repr`` for the terminal.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..data.base import DataBundle
from ..report.notebook import comparison_html, html_table, run_result_html
from ..report.notebook import fmt as fmt_value


def public(metrics: Dict[str, Any]) -> Dict[str, Any]:
    """Metrics without the in-memory extras (keys starting with ``_``, such as the test outputs)."""
    return {k: v for k, v in metrics.items() if not k.startswith("_")}


class Record(dict):
    """A dict (of metrics, or one prediction) that Jupyter shows as a two-column table."""

    def _repr_html_(self) -> str:
        return html_table(["", "value"], [(k, fmt_value(v)) for k, v in self.items() if not str(k).startswith("_")])


@dataclass
class RunResult:
    run_dir: Optional[Path]
    metrics: Dict[str, Any]
    history: List[Dict[str, Any]]
    model: torch.nn.Module
    bundle: DataBundle

    def _repr_html_(self) -> str:
        return run_result_html(self)


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
        return comparison_html(self.rows, self.out)
