"""One self-contained HTML page (report.html) per directory archbench writes.

    build_report(directory, embed=False) -> Path   # writes directory/report.html
    open_report(path)                               # opens a report (or a directory's) in a browser

The page is built only from the files in the directory: archbench.json (type, title, created,
version), figures.json ([{"file", "title", "caption"}]) and, by type,
  run:         metrics.json (headline cards), config.json, history.csv, classification_report.json|txt,
               summary.md (layer table)
  comparison:  comparison.csv|md, significance.md|json, when_to_use.md, comparison.json (links to runs)
  other types: every *.md and *.csv
plus every figure. Nothing is fetched from the network: CSS and the table-sorting script are inline,
images are referenced by relative path (or inlined as data: URIs with embed=True).
"""
from __future__ import annotations

import webbrowser
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..errors import ArchbenchError, CheckpointError
from ..files import atomic_write_text
from .html_markup import esc, url
from .html_sections import (
    REPORT,
    PathLike,
    _comparison_sections,
    _figures,
    _files,
    _json,
    _other_tables,
    _Page,
    _parent_meta,
    _read_meta,
    _run_sections,
)
from .html_style import CSS, JS

# Files a section of its own already shows; the generic "Tables and notes" section skips them.
_RUN_FILES = {"metrics.json", "config.json", "history.csv", "classification_report.json",
              "classification_report.txt", "summary.md", "predictions.csv"}
_COMPARISON_FILES = {"comparison.csv", "comparison.md", "significance.md", "significance.json",
                     "when_to_use.md", "comparison.json", "results.csv"}


# ----------------------------------------------------------------------------- public API

def build_report(directory: PathLike, *, embed: bool = False) -> Path:
    """Write `directory/report.html` from the files in `directory` and return its path.

    A comparison also (re)builds the report of every run it lists, so its links work and each
    run page links back up. Raises CheckpointError when `directory` is not an archbench directory.
    """
    return _build(Path(directory), embed=embed, up=None, active=set())


def open_report(path: PathLike) -> Path:
    """Open a report in the default web browser; a directory opens its report.html (built first
    when missing). Returns the page's path."""
    path = Path(path)
    if path.is_dir():
        page = path / REPORT
        if not page.exists():
            page = build_report(path)
        path = page
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    webbrowser.open(path.resolve().as_uri())
    return path


# ----------------------------------------------------------------------------- reading


# ----------------------------------------------------------------------------- page assembly


def _build(d: Path, *, embed: bool, up: Optional[Tuple[str, str]], active: set) -> Path:
    """Write d/report.html. `up` = (href, title) of the page above, else found from the parent
    directory; `active` holds the directories being built, so comparisons listing each other stop."""
    meta = _read_meta(d)
    active.add(d.resolve())
    kind = str(meta.get("type", "")).lower()
    page = _Page()
    shown = set()
    if kind == "run":
        _run_sections(d, page, embed)
        shown |= _RUN_FILES
    elif kind == "comparison":
        _comparison_sections(d, meta, page, embed, active, _build)
        shown |= _COMPARISON_FILES
    else:
        page.add("Figures", _figures(d, embed))
    page.add("Tables and notes", _other_tables(d, shown))
    page.add("Files", _files(d))

    if up is None:
        parent = _parent_meta(d)
        if parent is not None:
            up = ("../" + REPORT, str(parent.get("title") or d.resolve().parent.name))
    out = d / REPORT
    try:
        atomic_write_text(out, _render(meta, page, up, d))
    except OSError as e:
        raise ArchbenchError(f"cannot write {out}: {e.strerror or e}") from None
    return out


def _render(meta: Dict[str, Any], page: _Page, up: Optional[Tuple[str, str]], d: Path) -> str:
    kind = str(meta.get("type") or "report")
    title = str(meta.get("title") or d.resolve().name)
    bits = [f'<span class="badge">{esc(kind)}</span>']
    created = meta.get("created")
    if created:
        bits.append(f'<time datetime="{esc(str(created))}">{esc(_when(str(created)))}</time>')
    if meta.get("version"):
        bits.append(f"<span>archbench {esc(str(meta['version']))}</span>")
    bits += [f"<span>{esc(b)}</span>" for b in _config_line(d) if kind == "run"]
    crumbs = ""
    if up:
        crumbs = f'<div class="crumbs"><a href="{esc(url(up[0]))}" rel="up">&larr; {esc(up[1])}</a></div>'
    toc = ""
    if len(page.sections) > 2:
        toc = '<nav class="toc" aria-label="Sections">' + "".join(
            f'<a href="#{sid}">{esc(h)}</a>' for sid, h, _ in page.sections) + "</nav>"
    body = "\n".join(f'<section class="card" id="{sid}"><h2>{esc(h)}</h2>\n{html}\n</section>'
                     for sid, h, html in page.sections)
    version = esc(str(meta.get("version") or ""))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="generator" content="archbench {version}">
<title>{esc(title)} · archbench</title>
<link rel="icon" href="data:,">
<style>{CSS}</style>
</head>
<body>
<div class="container">
<header class="page">
{crumbs}
<h1>{esc(title)}</h1>
<div class="meta">{" ".join(bits)}</div>
{toc}
</header>
<main>
{page.headline}
{body}
</main>
<footer>Made by archbench {version} from the files in this directory; it needs no network.</footer>
</div>
<script>{JS}</script>
</body>
</html>
"""


def _when(iso: str) -> str:
    try:
        t = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    zone = ""
    if t.utcoffset() is not None:
        zone = " UTC" if t.utcoffset().total_seconds() == 0 else t.strftime(" UTC%z")
    return t.strftime("%Y-%m-%d %H:%M") + zone


def _config_line(d: Path) -> List[str]:
    cfg = _json(d / "config.json")
    if not isinstance(cfg, dict):
        return []
    return [f"{k} {cfg[k]}" for k in ("model", "data", "seed", "device")
            if isinstance(cfg.get(k), (str, int)) and not isinstance(cfg.get(k), bool)]


# ----------------------------------------------------------------------------- figures


# ----------------------------------------------------------------------------- run pages


# ----------------------------------------------------------------------------- comparison pages


# ----------------------------------------------------------------------------- generic pieces

