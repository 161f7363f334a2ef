"""The HTML report in a real browser: headless Debian Chromium driven by playwright.

Needs `bash scripts/install_browser.sh .venv` (Debian's /usr/bin/chromium + the playwright package;
playwright's own browser download is never used). Skips when either is missing.
Screenshots go to test-artifacts/ in the repository root (git-ignored) and to tmp_path.
"""
from __future__ import annotations

import functools
import http.server
import importlib.util
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"laptop": (1280, 800), "phone": (390, 844)}
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (run scripts/install_browser.sh)"),
]


def _fakes():
    """make_run_dir / make_comparison_dir from test_report.py, loaded by path (tests is no package)."""
    spec = importlib.util.spec_from_file_location("_report_fakes", Path(__file__).with_name("test_report.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A comparison (with its run pages) and a lone regression run, served on 127.0.0.1."""
    from archbench.report.html import build_report

    fakes = _fakes()
    root = tmp_path_factory.mktemp("site")
    build_report(fakes.make_comparison_dir(root / "comparison"))
    build_report(fakes.make_run_dir(root / "regression", regression=True))
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


PAGES = {"comparison": "comparison/report.html", "run": "comparison/cnn-s1/report.html",
         "regression": "regression/report.html"}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders(site, browser, name, viewport, tmp_path):
    root, base = site
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        response = page.goto(f"{base}/{PAGES[name]}", wait_until="load")
        assert response is not None and response.ok
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")

        images = page.eval_on_selector_all("img", "els => els.map(i => [i.getAttribute('src'), i.naturalWidth])")
        assert images, "the page shows no figures"
        assert all(w > 0 for _, w in images), f"images that did not load: {images}"
        assert page.locator("table.data").count() >= 1
        assert page.locator("figcaption").count() == len(images)
        # nothing but the page's own files was fetched
        assert all(u.startswith(base) for u in requests), requests

        scroll = page.evaluate("document.body.scrollWidth")
        assert scroll <= width + 1, f"body is {scroll}px wide at a {width}px viewport"

        if name == "comparison":
            # the results table sorts by a column on click
            head = page.locator("table.sortable th", has_text="test_accuracy").first
            head.click()
            head.click()  # descending: best first
            first = page.locator("table.sortable tbody tr").first.locator("td").first.inner_text()
            assert first == "lstm"
            run_link = page.locator("#runs a", has_text="cnn").first
            run_link.click()
            page.wait_for_load_state("load")
            assert page.url.endswith("/report.html") and "-s" in page.url
            page.locator("a[rel=up]").click()
            page.wait_for_load_state("load")
            assert page.url == f"{base}/{PAGES['comparison']}"
            page.goto(f"{base}/{PAGES[name]}", wait_until="load")

        ARTIFACTS.mkdir(exist_ok=True)
        shot = f"report-{name}-{viewport}.png"
        page.screenshot(path=str(tmp_path / shot), full_page=True)
        (ARTIFACTS / shot).write_bytes((tmp_path / shot).read_bytes())
        assert not errors, errors
    finally:
        page.close()


def test_file_url_and_embedded_images(site, browser, tmp_path):
    """Opened straight from disk (file://), and with images inlined as data: URIs."""
    from archbench.report.html import build_report

    root, _ = site
    embedded = tmp_path / "embedded.html"
    built = build_report(root / "regression", embed=True)
    embedded.write_bytes(built.read_bytes())  # away from its images: only the data: URIs can load
    build_report(root / "regression")
    for target in (root / PAGES["run"], embedded):
        page = browser.new_page(viewport={"width": 390, "height": 844})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(target.as_uri(), wait_until="load")
            page.wait_for_function("Array.from(document.images).every(i => i.complete)")
            widths = page.eval_on_selector_all("img", "els => els.map(i => i.naturalWidth)")
            assert widths and all(w > 0 for w in widths), widths
            assert not errors, errors
        finally:
            page.close()


@pytest.fixture(scope="module")
def real_comparison(tmp_path_factory):
    """A real (tiny) comparison with a sweep, built by `archbench compare`, served on 127.0.0.1."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("real")
    res = subprocess.run([sys.executable, "-m", "archbench", "compare", "rnn", "gru", "--data", "seq-sum",
                          "--sweep", "seq_len=8,16", "--set", "n_samples=300", "--epochs", "1", "--threads", "1",
                          "--progress", "none", "--out", str(root / "cmp")], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("width", [1280, 900])
def test_real_comparison_page_reads_cleanly(real_comparison, browser, width):
    root, base = real_comparison
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(f"{base}/cmp/report.html", wait_until="load")
        # no heading twice (section headings against the Markdown's own titles)
        headings = [h.strip() for h in page.eval_on_selector_all("h2, h3", "els => els.map(e => e.innerText)")]
        assert "Which differences are real" not in headings
        assert headings.count("When to use each architecture") == 1 and headings.count("Significance") == 1
        # the results table: whole epochs, and a row for every swept value
        table = page.locator("#results table.sortable")
        header = table.locator("thead th").all_inner_texts()
        rows = [r.locator("td").all_inner_texts() for r in table.locator("tbody tr").all()]
        epochs = header.index("Epochs")
        assert all(r[epochs] == "1" for r in rows), [r[epochs] for r in rows]
        sweep = header.index("Seq_len")
        assert {(r[1], r[sweep]) for r in rows} == {("rnn", "8"), ("rnn", "16"), ("gru", "8"), ("gru", "16")}
        when = page.locator("#when-to-use-each-architecture tbody tr").all_inner_texts()
        assert len(when) == 2 and not any("–" in r for r in when)  # only the compared architectures
        # the label columns stay in view when the table scrolls sideways
        wrap = table.locator("xpath=..")
        if width == 900:  # 15 columns do not fit: the table scrolls
            assert wrap.evaluate("w => w.scrollWidth > w.clientWidth + 100")
        wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
        left = wrap.evaluate("w => w.getBoundingClientRect().left")
        cells = table.locator("tbody tr").first.locator("td")
        data_left = cells.nth(0).evaluate("c => c.getBoundingClientRect().left")
        model_box = cells.nth(1).evaluate("c => [c.getBoundingClientRect().left, c.getBoundingClientRect().right]")
        assert abs(data_left - left) < 2 and model_box[0] >= data_left
        assert cells.nth(1).is_visible()
    finally:
        page.close()
