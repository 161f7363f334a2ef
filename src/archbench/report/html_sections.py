"""The sections of a report page: metric cards, a run's tables and figures, a comparison's runs, the files list."""
from __future__ import annotations

import base64
import json
import mimetypes
import os
import re
import struct
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..config import read_json_object
from ..errors import CheckpointError
from .html_markup import (
    csv_to_html,
    esc,
    flatten,
    format_value,
    key_value_table,
    markdown_to_html,
    sentences_to_html,
    table,
    url,
)
from .predictions import predictions_section
from .raw_results import raw_results_section

REPORT = "report.html"


IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".svg", ".gif", ".webp")


PathLike = Union[str, os.PathLike]


def _read_meta(d: Path) -> Dict[str, Any]:
    if not d.exists():
        raise CheckpointError(f"{d} does not exist")
    if not d.is_dir():
        raise CheckpointError(f"{d} is not a directory")
    f = d / "archbench.json"
    if not f.is_file():
        raise CheckpointError(f"{d} is not an archbench directory (no archbench.json)")
    return read_json_object(f)


def _json(f: Path) -> Any:
    """An optional JSON file: None when missing or unreadable (the page notes what it skipped)."""
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _text(f: Path) -> Optional[str]:
    try:
        return f.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _parent_meta(d: Path) -> Optional[Dict[str, Any]]:
    parent = d.resolve().parent
    if parent == d.resolve() or not (parent / "archbench.json").is_file():
        return None
    try:
        return _read_meta(parent)
    except CheckpointError:
        return None


class _Page:
    def __init__(self) -> None:
        self.sections: List[Tuple[str, str, str]] = []  # (id, heading, body html)
        self.headline = ""

    def add(self, heading: str, body: Optional[str]) -> None:
        if body:
            sid = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-") or "section"
            self.sections.append((sid, heading, body))


# (label, keys tried in order in the flattened metrics, format)
_CARDS: Sequence[Tuple[str, Sequence[str], str]] = (
    ("Test accuracy", ("test_accuracy", "test_acc", "accuracy", "acc"), "percent"),
    ("Test RMSE", ("test_rmse", "rmse"), "number"),
    ("Test MAE", ("test_mae", "mae"), "number"),
    ("Test loss", ("test_loss", "loss"), "number"),
    ("Macro F1", ("test_macro_f1", "test_f1_macro", "macro_f1", "f1_macro"), "number"),
    ("Best epoch", ("best_epoch",), "int"),
    ("Epochs run", ("epochs_run", "epochs_trained", "epochs_completed", "epochs", "num_epochs"), "int"),
    ("Train time", ("train_seconds", "train_time_s", "train_time", "training_seconds", "train_secs",
                    "seconds", "wall_seconds"), "seconds"),
    ("Samples / s", ("samples_per_s", "samples_per_sec", "samples_per_second", "train_samples_per_s",
                     "throughput"), "rate"),
    ("Parameters", ("params", "num_params", "n_params", "parameters", "param_count", "trainable_params"),
     "count"),
)


def _figures(d: Path, embed: bool) -> str:
    """figures.json's figures with their captions, then any other image in the directory."""
    listed = _json(d / "figures.json")
    entries = [e for e in listed if isinstance(e, dict) and e.get("file")] if isinstance(listed, list) else []
    notes = []
    if (d / "figures.json").exists() and not isinstance(listed, list):
        notes.append('<p class="note">figures.json could not be read; showing the images found.</p>')
    seen = {str(e["file"]) for e in entries}
    extra = sorted(p.name for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.name not in seen)
    entries += [{"file": f, "title": _pretty(Path(f).stem), "caption": ""} for f in extra]
    if not entries:
        return "".join(notes)
    cards = [_figure(d, e, embed) for e in entries]
    return "".join(notes) + '<div class="figures">' + "".join(cards) + "</div>"


def _figure(d: Path, e: Dict[str, Any], embed: bool) -> str:
    name = str(e["file"])
    title, caption = str(e.get("title") or ""), str(e.get("caption") or "")
    f = (d / name).resolve()
    inside = d.resolve() in f.parents
    if not (inside and f.is_file()):
        return (f'<figure class="missing"><figcaption><span class="title">{esc(title or name)}</span>'
                f"{esc(name)} is missing from this directory.</figcaption></figure>")
    size = _image_size(f)
    wide = size is not None and (size[0] >= 1000 or size[0] >= 2 * size[1])
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    src = _data_uri(f) if embed else url(name)
    img = f'<img src="{esc(src)}" alt="{esc(title or name)}"{dims}>'
    if not embed:  # click to see it full size
        img = f'<a class="img" href="{esc(url(name))}">{img}</a>'
    cap = (f'<span class="title">{esc(title)}</span>' if title else "") + esc(caption)
    return (f'<figure class="{"wide" if wide else ""}">{img}'
            + (f"<figcaption>{cap}</figcaption>" if cap else "") + "</figure>")


def _image_size(f: Path) -> Optional[Tuple[int, int]]:
    """(width, height) of a PNG from its header; None for other formats (the browser sizes them)."""
    try:
        with open(f, "rb") as fh:
            head = fh.read(24)
    except OSError:
        return None
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return (w, h) if w and h else None
    return None


def _data_uri(f: Path) -> str:
    mime = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(f.read_bytes()).decode("ascii")


def _pretty(stem: str) -> str:
    s = re.sub(r"[_\-]+", " ", stem).strip()
    return s[:1].upper() + s[1:]


def _norm(metrics: Dict[str, Any]) -> Dict[str, Any]:
    return {re.sub(r"[^a-z0-9]+", "_", k.lower()).strip("_"): v for k, v in flatten(metrics).items()}


def _lookup(m: Dict[str, Any], keys: Sequence[str]) -> Optional[float]:
    for k in keys:
        v = m.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def _fmt(value: float, how: str) -> Tuple[str, str]:
    """(shown text, small sub-line) for a metric card."""
    if how == "percent":
        pct = value * 100 if abs(value) <= 1 else value
        return f"{pct:.2f}%", ""
    if how == "int":
        return f"{int(round(value))}", ""
    if how == "seconds":
        if value >= 90:
            m, s = divmod(int(round(value)), 60)
            return (f"{m // 60}h {m % 60:02d}m" if m >= 60 else f"{m}m {s:02d}s"), f"{value:,.1f} s"
        return f"{value:.1f} s", ""
    if how == "rate":
        return f"{value:,.0f}", ""
    if how == "count":
        n = int(round(value))
        short = f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e4 else f"{n:,}"
        return short, (f"{n:,}" if n >= 1e4 else "")
    return f"{value:.4g}", ""


def _cards(metrics: Dict[str, Any], extra: Optional[Dict[str, Any]] = None) -> str:
    m = _norm(metrics)
    for k, v in _norm(extra or {}).items():
        m.setdefault(k, v)
    found = [(label, _lookup(m, keys), how) for label, keys, how in _CARDS]
    found = [(label, v, how) for label, v, how in found if v is not None]
    if not found:
        return ""
    out = []
    for i, (label, v, how) in enumerate(found):
        text, sub = _fmt(v, how)
        primary = " primary" if i == 0 and label in ("Test accuracy", "Test RMSE", "Test MAE") else ""
        out.append(f'<div class="metric{primary}"><div class="label">{esc(label)}</div>'
                   f'<div class="value">{esc(text)}</div>'
                   + (f'<div class="sub">{esc(sub)}</div>' if sub else "") + "</div>")
    return '<div class="cards headline" aria-label="Headline metrics">' + "".join(out) + "</div>"


def headline_metric(run_dir: PathLike) -> Optional[Tuple[str, str]]:
    """(label, text) of a run's main test metric: accuracy for classification, else RMSE or MAE."""
    metrics = _json(Path(run_dir) / "metrics.json")
    if not isinstance(metrics, dict):
        return None
    m = _norm(metrics)
    for label, keys, how in _CARDS[:3]:
        v = _lookup(m, keys)
        if v is not None:
            return label, _fmt(v, how)[0]
    return None


def _run_sections(d: Path, page: _Page, embed: bool) -> None:
    metrics = _json(d / "metrics.json")
    if isinstance(metrics, dict):
        model = _json(d / "model.json")
        page.headline = _cards(metrics, model if isinstance(model, dict) else None)
    page.add("Figures", _figures(d, embed))
    page.add("Classification report", _classification_report(d))
    page.add("Predictions", predictions_section(d))
    summary = _text(d / "summary.md")
    if summary and summary.strip():
        page.add("Model summary", markdown_to_html(summary))

    # The long tables, folded: the headline cards and figures already tell the story.
    details = []
    if isinstance(metrics, dict):
        details.append(_details(f"All metrics ({len(flatten(metrics))})", key_value_table(metrics),
                                open_=not page.headline))
    elif (d / "metrics.json").exists():
        details.append('<p class="note">metrics.json could not be read.</p>')
    history = _text(d / "history.csv")
    if history and history.strip():
        rows = max(0, sum(1 for line in history.splitlines() if line.strip()) - 1)
        details.append(_details(f"Training history ({rows} epochs)", csv_to_html(history)))
    config = _json(d / "config.json")
    if isinstance(config, dict) and config:
        details.append(_details(f"Configuration ({len(flatten(config))} settings)", key_value_table(config)))
    page.add("Details", "".join(details))


def _classification_report(d: Path) -> str:
    data = _json(d / "classification_report.json")
    if isinstance(data, dict) and data:
        rows, scalars = [], []
        cols = ["precision", "recall", "f1-score", "support"]
        for label, v in data.items():
            if isinstance(v, dict):
                rows.append([str(label)] + [format_value(v.get(c)) for c in cols])
            else:
                scalars.append(f"{label}: {format_value(v)}")
        html = table(["class"] + cols, rows) if rows else ""
        if scalars:
            html += f'<p class="note">{esc("; ".join(scalars))}</p>'
        return html
    text = _text(d / "classification_report.txt")
    if text and text.strip():
        return f"<pre><code>{esc(text.rstrip())}</code></pre>"
    return ""


def _details(summary: str, body: str, open_: bool = False) -> str:
    if not body:
        return ""
    return f'<details{" open" if open_ else ""}><summary>{esc(summary)}</summary>{body}</details>'


def _drop_title(md: str) -> str:
    """The Markdown without its leading "# title" line: the page's section heading already says it."""
    lines = md.lstrip().splitlines()
    return "\n".join(lines[1:]) if lines and lines[0].startswith("# ") else md


def _comparison_sections(d: Path, meta: Dict[str, Any], page: _Page, embed: bool, active: set, build) -> None:
    """``build(run_dir, embed=, up=, active=)`` writes each listed run's own page (html._build)."""
    csv_text, md_text = _text(d / "comparison.csv"), _text(d / "comparison.md")
    if csv_text and csv_text.strip():
        results = csv_to_html(csv_text, sortable=True)
    elif md_text and md_text.strip():
        results = markdown_to_html(md_text, sortable_tables=True)
    else:
        results = ""
    if results:
        results += '<p class="note">Click a column heading to sort by it.</p>'
    page.add("Results", results)

    sig_md = _text(d / "significance.md")
    if sig_md and sig_md.strip():
        page.add("Significance", markdown_to_html(_drop_title(sig_md)))
    elif (d / "significance.json").exists():
        page.add("Significance", sentences_to_html(_json(d / "significance.json"))
                 or '<p class="note">significance.json could not be read.</p>')
    when = _text(d / "when_to_use.md")
    if when and when.strip():
        page.add("When to use each architecture", markdown_to_html(_drop_title(when)))
    page.add("Figures", _figures(d, embed))
    page.add("Runs", _runs(d, str(meta.get("title") or d.resolve().name), embed, active, build))
    raw, n_cols = raw_results_section(d)
    page.add("Raw results", _details(f"Every run, every metric ({n_cols} columns)", raw) if n_cols else raw)


def _runs(d: Path, title: str, embed: bool, active: set, build) -> str:
    """A table of the runs in comparison.json, each linking to its own report (built here)."""
    listing = _json(d / "comparison.json")
    runs = listing.get("runs") if isinstance(listing, dict) else None
    if not isinstance(runs, list):
        return ('<p class="note">comparison.json could not be read.</p>'
                if (d / "comparison.json").exists() else "")
    me = d.resolve()
    rows, metric_label = [], None
    for r in runs:
        if not isinstance(r, dict):
            continue
        rel = str(r.get("dir") or "")
        run_dir = (d / rel).resolve() if rel else None
        name = esc(str(r.get("model", "")))
        note, metric = "", ""
        if run_dir is not None and (run_dir / "archbench.json").is_file():
            # The run's own "up" link: its parent when that is an archbench directory, else this page.
            back = None if _parent_meta(run_dir) else (os.path.relpath(me / REPORT, run_dir), title)
            try:
                if run_dir not in active:  # rebuilt every time, so its "up" link is never stale
                    build(run_dir, embed=embed, up=back, active=active)
                href = os.path.relpath(run_dir / REPORT, me)
                name = f'<a href="{esc(url(href))}" title="open this run\'s report">{name}</a>'
            except CheckpointError:
                note = "damaged run directory"
            head = headline_metric(run_dir)
            if head:
                metric_label = metric_label or head[0]
                metric = head[1] if head[0] == metric_label else f"{head[0]}: {head[1]}"
        else:
            note = f"{rel} is missing" if rel else "no run directory"
        if note:
            name += f' <span class="muted">({esc(note)})</span>'
        rows.append([name, esc(str(r.get("seed", ""))), esc(metric), esc(str(r.get("data", "")))])
    if not rows:
        return ""
    label = (metric_label or "test metric").lower()
    return (table(["model", "seed", label, "data"], rows, sortable=True, raw=True)
            + '<p class="note">Each model name opens that run\'s own report.</p>')


def _other_tables(d: Path, shown: set) -> str:
    """Every *.md and *.csv that no other section showed, each under its file name."""
    parts = []
    for f in sorted(d.iterdir()):
        if f.name in shown or not f.is_file() or f.suffix.lower() not in (".md", ".csv"):
            continue
        text = _text(f)
        if not text or not text.strip():
            continue
        body = markdown_to_html(text, heading_offset=3) if f.suffix.lower() == ".md" else csv_to_html(text)
        parts.append(f"<h3>{esc(_pretty(f.stem))} <span class=\"muted\">({esc(f.name)})</span></h3>{body}")
    return "\n".join(parts)


def _files(d: Path) -> str:
    items = []
    for f in sorted(d.iterdir(), key=lambda p: (not p.is_dir(), p.name.lower())):
        if f.name == REPORT or f.name.startswith("."):
            continue
        name = f.name + ("/" if f.is_dir() else "")
        size = "" if f.is_dir() else _size(f.stat().st_size)
        items.append(f'<li><a href="{esc(url(name))}">{esc(name)}</a><span class="size">{size}</span></li>')
    return f'<ul class="files">{"".join(items)}</ul>' if items else ""


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""
