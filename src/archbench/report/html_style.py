"""The report page's CSS and its one small script, inlined into every page so it needs no network
and no package data files."""

CSS = r"""
:root {
  --bg: #f6f7f9; --card: #ffffff; --ink: #1f2430; --muted: #5f6b7a; --faint: #8a94a3;
  --line: #e3e7ec; --accent: #2f6fb3; --accent-soft: #e8f0fa; --head: #f1f3f6;
  --radius: 10px; --shadow: 0 1px 2px rgba(20, 30, 50, .06), 0 1px 8px rgba(20, 30, 50, .04);
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
        "Liberation Sans", sans-serif;
  overflow-wrap: break-word;
}
a { color: var(--accent); text-decoration: none; }
a:hover, a:focus-visible { text-decoration: underline; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .88em; }
code { background: var(--head); padding: .05em .35em; border-radius: 4px; }
pre { background: var(--head); padding: .8rem 1rem; border-radius: 8px; overflow-x: auto; line-height: 1.4; }
pre code { background: none; padding: 0; font-size: .85rem; }
.container { max-width: 1120px; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }

header.page { margin-bottom: 1.25rem; }
.crumbs { font-size: .9rem; margin-bottom: .35rem; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: .1rem 0 .4rem; font-weight: 650; letter-spacing: -.01em; }
.meta { color: var(--muted); font-size: .9rem; display: flex; flex-wrap: wrap; gap: .3rem .9rem; align-items: center; }
.badge { display: inline-block; background: var(--accent-soft); color: var(--accent); border-radius: 999px;
         padding: .08rem .6rem; font-size: .8rem; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
nav.toc { display: flex; flex-wrap: wrap; gap: .4rem; margin: .9rem 0 0; }
nav.toc a { background: var(--card); border: 1px solid var(--line); border-radius: 999px; padding: .15rem .7rem;
            font-size: .85rem; color: var(--muted); }
nav.toc a:hover { color: var(--accent); border-color: var(--accent); text-decoration: none; }

section.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius);
               box-shadow: var(--shadow); padding: 1.1rem 1.25rem 1.2rem; margin: 0 0 1.1rem; }
section.card > h2 { font-size: 1.15rem; margin: 0 0 .75rem; font-weight: 620; }
h3 { font-size: 1.02rem; margin: 1.1rem 0 .5rem; }
h4, h5, h6 { font-size: .95rem; margin: 1rem 0 .4rem; }
.muted, .note { color: var(--muted); }
.note { font-size: .88rem; margin: .4rem 0 0; }
p { margin: .4rem 0 .7rem; }
ul, ol { padding-left: 1.3rem; margin: .4rem 0 .8rem; }
li { margin: .2rem 0; }
blockquote { margin: .6rem 0; padding: .1rem 1rem; border-left: 3px solid var(--line); color: var(--muted); }
hr { border: 0; border-top: 1px solid var(--line); margin: 1rem 0; }

.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: .75rem; }
.metric { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius);
          padding: .8rem .95rem; box-shadow: var(--shadow); min-width: 0; }
.metric .label { color: var(--muted); font-size: .78rem; text-transform: uppercase; letter-spacing: .05em; }
.metric .value { font-size: 1.5rem; font-weight: 650; line-height: 1.2; margin-top: .2rem; font-variant-numeric: tabular-nums; }
.metric .sub { color: var(--faint); font-size: .78rem; margin-top: .15rem; }
.metric.primary { border-color: #b9cfe8; background: linear-gradient(180deg, #f5f9fe, #ffffff); }
.metric.primary .value { color: var(--accent); }
.headline { margin-bottom: 1.1rem; }

.table-wrap { width: 100%; overflow-x: auto; -webkit-overflow-scrolling: touch; margin: .3rem 0 .6rem;
              border: 1px solid var(--line); border-radius: 8px; }
table.data { border-collapse: collapse; width: 100%; font-size: .88rem; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: .42rem .7rem; text-align: left; border-bottom: 1px solid var(--line);
                               vertical-align: top; white-space: nowrap; }
table.data td { white-space: normal; min-width: 4.5rem; }
table.data td.num, table.data th.num { text-align: right; white-space: nowrap; }
table.data thead th { background: var(--head); font-weight: 600; color: #39414f; position: sticky; top: 0; }
table.data tbody tr:last-child td, table.data tbody tr:last-child th { border-bottom: 0; }
table.data tbody tr:hover { background: #fafbfd; }
table.sortable thead th { cursor: pointer; user-select: none; }
/* the label columns (data, model) stay in view while a wide results table scrolls sideways;
   the second's offset is the first's width, set by the script below */
table.sortable th:first-child, table.sortable td:first-child,
table.sortable th:nth-child(2), table.sortable td:nth-child(2) { position: sticky; left: 0; z-index: 1; background: var(--card); }
table.sortable th:nth-child(2), table.sortable td:nth-child(2) { left: var(--sticky-2, 0); box-shadow: 1px 0 0 var(--line); }
table.sortable thead th:first-child, table.sortable thead th:nth-child(2) { z-index: 2; background: var(--head); }
table.sortable thead th::after { content: "\2195"; color: var(--faint); font-size: .8em; margin-left: .35em; }
table.sortable thead th[aria-sort="ascending"]::after { content: "\2191"; color: var(--accent); }
table.sortable thead th[aria-sort="descending"]::after { content: "\2193"; color: var(--accent); }
table.kv th { font-weight: 500; color: var(--muted); width: 38%; }
table.kv td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .84rem; }
table.kv tr.group th { background: var(--head); color: var(--ink); font-weight: 600; text-transform: none; }

details { margin: .1rem 0; border-bottom: 1px solid var(--line); padding: .35rem 0; }
details:last-child { border-bottom: 0; }
details > summary { cursor: pointer; color: var(--accent); font-weight: 550; padding: .2rem 0; }
details > summary .muted { font-weight: 400; }
details[open] > summary { margin-bottom: .4rem; }

.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 480px), 1fr)); gap: 1rem; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: var(--radius);
         padding: .75rem; display: flex; flex-direction: column; min-width: 0; }
figure.wide { grid-column: 1 / -1; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; border-radius: 4px; }
figure a.img { display: block; }
figcaption { margin-top: .6rem; font-size: .88rem; color: var(--muted); }
figcaption .title { display: block; color: var(--ink); font-weight: 600; margin-bottom: .15rem; }
figure.missing { color: var(--muted); font-size: .88rem; }

ul.files { list-style: none; padding: 0; margin: 0; columns: 2 260px; column-gap: 1.5rem; }
ul.files li { break-inside: avoid; display: flex; justify-content: space-between; gap: .6rem; border-bottom: 1px dashed var(--line); padding: .15rem 0; }
ul.files .size { color: var(--faint); font-size: .82rem; white-space: nowrap; }
footer { color: var(--faint); font-size: .8rem; text-align: center; margin-top: 2rem; }

@media (max-width: 640px) {
  body { font-size: 14.5px; }
  .container { padding: 1rem .75rem 2rem; }
  h1 { font-size: 1.35rem; }
  section.card { padding: .9rem .85rem 1rem; }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .55rem; }
  .metric { padding: .65rem .75rem; }
  .metric .value { font-size: 1.25rem; }
  figure { padding: .5rem; }
  table.kv th { width: auto; white-space: normal; }
  table.data th, table.data td { padding: .4rem .55rem; }
}
@media print {
  body { background: #fff; }
  section.card, figure, .metric { box-shadow: none; break-inside: avoid; }
  nav.toc { display: none; }
}
"""

# Click a header of a .sortable table to sort by that column (numbers by value, "91.2 ± 0.4" by
# its mean, text alphabetically); click again to reverse.
JS = r"""
(function () {
  function key(cell) {
    var t = (cell.textContent || "").trim();
    var m = t.replace(/,/g, "").match(/^[-+]?\d*\.?\d+(e[-+]?\d+)?/i);
    return m ? parseFloat(m[0]) : t.toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    if (heads.length > 1) { table.style.setProperty("--sticky-2", heads[0].getBoundingClientRect().width + "px"); }
    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col] || a), y = key(b.cells[col] || b);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  });
})();
"""
