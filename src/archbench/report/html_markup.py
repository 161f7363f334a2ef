"""Small text -> HTML converters for the report: Markdown (the subset archbench writes), CSV tables,
key/value tables and number formatting. Every piece of text passes through html.escape.

No dependencies: the Markdown subset is headings, paragraphs, lists, pipe tables, fenced code,
block quotes, rules, and inline code / bold / italic / links.
"""
from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence
from urllib.parse import quote

esc = html.escape


def url(path: str) -> str:
    """A relative file path as an href/src value (percent-encoded, '/' kept)."""
    return quote(path.replace("\\", "/"), safe="/#")


# ----------------------------------------------------------------------------- numbers

def is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity", "")


_NUMERIC = re.compile(r"[-+]?[\d,]*\.?\d+(e[-+]?\d+)?\s*%?(\s*(±|\+/-|\+-)\s*[\d,]*\.?\d+(e[-+]?\d+)?\s*%?)?"
                      r"(\s*[kKMG]|\s*s)?", re.IGNORECASE)


def looks_numeric(text: str) -> bool:
    """A number as a table shows it: 0.91, 1,234, 93.5%, 91.2 ± 0.4, nan. Such columns align right."""
    t = text.strip()
    return bool(_NUMERIC.fullmatch(t)) or t.lower() in ("nan", "inf", "-inf")


_FLOAT = re.compile(r"-?\d+\.(\d+)(e[-+]?\d+)?", re.IGNORECASE)


def is_long_float(text: str) -> bool:
    m = _FLOAT.fullmatch(text.strip())
    return bool(m) and (len(m.group(1)) > 4 or bool(m.group(2)))


def format_cell(text: str, group_digits: bool = False, align: bool = False) -> str:
    """Shorten long floats in table cells (0.912345678 -> 0.9123) and, with group_digits, write
    big integers with thousands separators (1234567 -> 1,234,567); leave everything else alone.
    align=True (a column that has long floats) writes its short floats the same way: 0.5 -> 0.5000."""
    s = text.strip()
    if group_digits and re.fullmatch(r"-?\d{5,}", s):
        return f"{int(s):,}"
    if not (is_long_float(s) or (align and _FLOAT.fullmatch(s))):
        return text
    v = float(s)
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.1f}"
    if abs(v) >= 1e-3:
        return f"{v:.4f}"
    return f"{v:.3g}"


def format_value(value: Any) -> str:
    """A JSON value as short readable text (for config and metric tables)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return format_cell(repr(value))
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


# ----------------------------------------------------------------------------- tables

def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, sortable: bool = False,
          raw: bool = False, cls: str = "") -> str:
    """An HTML table in a horizontally scrolling wrapper. Cells are escaped unless raw=True
    (then they are trusted HTML built by this module)."""
    rows = [list(r) for r in rows]
    numeric = []
    for i in range(len(header)):
        cells = [_plain(r[i]).strip() for r in rows if i < len(r) and _plain(r[i]).strip()]
        numeric.append(bool(cells) and all(looks_numeric(c) for c in cells))
    # counts read better as 1,234,567; ids, seeds and epochs stay as written
    group = [not re.search(r"seed|epoch|step|id\b|year|index", _plain(h), re.IGNORECASE) for h in header]
    align = [not raw and any(i < len(r) and is_long_float(r[i]) for r in rows) for i in range(len(header))]
    classes = " ".join(c for c in ("data", "sortable" if sortable else "", cls) if c)
    out = [f'<div class="table-wrap"><table class="{classes}"><thead><tr>']
    for h, num in zip(header, numeric):
        attr = ' class="num"' if num else ""
        out.append(f'<th scope="col"{attr}>{h if raw else esc(h)}</th>')
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>")
        for i in range(len(header)):
            cell = r[i] if i < len(r) else ""
            attr = ' class="num"' if numeric[i] else ""
            out.append(f"<td{attr}>{cell if raw else esc(format_cell(cell, group[i], align[i]))}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _plain(cell: str) -> str:
    return re.sub(r"<[^>]+>", "", cell)


def csv_to_html(text: str, *, sortable: bool = False) -> str:
    """CSV text -> table; the first row is the header. Empty text -> ''."""
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        return ""
    return table(rows[0], rows[1:], sortable=sortable)


def flatten(d: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists stay whole."""
    out: Dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def key_value_table(d: Dict[str, Any]) -> str:
    """A nested dict as a two-column table: top-level sub-dicts become labelled groups of rows,
    deeper levels are flattened to dotted keys."""
    plain = {k: v for k, v in d.items() if not (isinstance(v, dict) and v)}
    groups = {k: v for k, v in d.items() if isinstance(v, dict) and v}
    out = ['<div class="table-wrap"><table class="data kv"><tbody>']
    for k, v in plain.items():
        out.append(f"<tr><th scope=\"row\">{esc(str(k))}</th><td>{esc(format_value(v))}</td></tr>")
    for name, sub in groups.items():
        out.append(f'<tr class="group"><th colspan="2" scope="rowgroup">{esc(str(name))}</th></tr>')
        for k, v in flatten(sub).items():
            out.append(f"<tr><th scope=\"row\">{esc(k)}</th><td>{esc(format_value(v))}</td></tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


# ----------------------------------------------------------------------------- markdown

_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_SAFE_HREF = re.compile(r"^(https?://|mailto:|#|\.{0,2}/|[\w.-]+(/|$|\.|#))", re.IGNORECASE)


def inline(text: str) -> str:
    """Inline Markdown -> HTML. Escapes first, so nothing in the text can become a tag."""
    stash: List[str] = []

    def keep(fragment: str) -> str:
        stash.append(fragment)
        return f"\x00{len(stash) - 1}\x00"

    text = _CODE.sub(lambda m: keep(f"<code>{esc(m.group(1))}</code>"), text)
    text = esc(text, quote=False)

    def link(m: re.Match) -> str:
        label, href = m.group(1), html.unescape(m.group(2))
        if not _SAFE_HREF.match(href) or href.lower().startswith(("javascript:", "data:")):
            return m.group(0)
        return keep(f'<a href="{esc(href)}">{label}</a>')

    text = _LINK.sub(link, text)
    text = _BOLD.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", text)
    text = _ITALIC.sub(lambda m: f"<em>{m.group(1)}</em>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: stash[int(m.group(1))], text)


def _split_row(line: str) -> List[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [c.strip().replace("\\|", "|") for c in cells]


_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s+(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def markdown_to_html(text: str, *, heading_offset: int = 2, sortable_tables: bool = False) -> str:
    """Markdown (the subset above) -> HTML. `# x` becomes <h{1+heading_offset}> so a file's own
    headings sit under the page's section headings."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: List[str] = []
    para: List[str] = []
    i = 0

    def flush() -> None:
        if para:
            out.append(f"<p>{inline(' '.join(s.strip() for s in para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            flush()
            i += 1
        elif stripped.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append(f"<pre><code>{esc(chr(10).join(lines[i + 1:j]))}</code></pre>")
            i = j + 1
        elif _HEADING.match(stripped):
            flush()
            m = _HEADING.match(stripped)
            level = min(6, len(m.group(1)) + heading_offset)
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
            i += 1
        elif re.fullmatch(r"(-{3,}|\*{3,}|_{3,})", stripped) and not para:
            out.append("<hr>")
            i += 1
        elif "|" in stripped and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            flush()
            header = _split_row(stripped)
            rows = []
            j = i + 2
            while j < len(lines) and lines[j].strip() and "|" in lines[j]:
                rows.append(_split_row(lines[j]))
                j += 1
            out.append(table([inline(h) for h in header],
                             [[inline(format_cell(c)) for c in r] for r in rows],
                             sortable=sortable_tables, raw=True))
            i = j
        elif _LIST_ITEM.match(line) and not para:
            ordered = _LIST_ITEM.match(line).group(1)[0].isdigit()
            items: List[str] = []
            while i < len(lines) and lines[i].strip():
                m = _LIST_ITEM.match(lines[i])
                if m:
                    items.append(m.group(2))
                elif items:  # a wrapped continuation line
                    items[-1] += " " + lines[i].strip()
                i += 1
            tag = "ol" if ordered else "ul"
            out.append(f"<{tag}>" + "".join(f"<li>{inline(t)}</li>" for t in items) + f"</{tag}>")
        elif stripped.startswith(">"):
            flush()
            quoted = []
            while i < len(lines) and lines[i].strip().startswith(">"):
                quoted.append(lines[i].strip()[1:].lstrip())
                i += 1
            out.append(f"<blockquote>{markdown_to_html(chr(10).join(quoted), heading_offset=heading_offset)}</blockquote>")
        else:
            para.append(line)
            i += 1
    flush()
    return "\n".join(out)


def sentences_to_html(data: Any) -> Optional[str]:
    """significance.json in any of the shapes a writer might choose -> HTML: a list of strings,
    {"sentences": [...]}, or a list of records with a "sentence"/"text"/"summary" field (others
    become a table)."""
    if isinstance(data, dict):
        for key in ("sentences", "summary", "results", "tests", "pairs"):
            if key in data:
                return sentences_to_html(data[key])
        return key_value_table(data)
    if isinstance(data, str):
        return f"<p>{esc(data)}</p>"
    if isinstance(data, list) and data:
        if all(isinstance(x, str) for x in data):
            return "<ul>" + "".join(f"<li>{inline(x)}</li>" for x in data) + "</ul>"
        if all(isinstance(x, dict) for x in data):
            for key in ("sentence", "text", "summary", "message"):
                if all(key in x for x in data):
                    return "<ul>" + "".join(f"<li>{inline(str(x[key]))}</li>" for x in data) + "</ul>"
            cols: List[str] = []
            for x in data:
                cols += [k for k in x if k not in cols]
            return table(cols, [[format_value(x.get(c)) for c in cols] for x in data])
    return None
