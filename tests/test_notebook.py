"""examples/quickstart.ipynb runs end to end on offline data (digits), in a real Jupyter kernel."""
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("test_accuracy" in h for h in html)  # the run result rendered as a table
    assert any("<caption>comparison" in h and "Test acc" in h for h in html)  # the comparison table
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # the run's figure and the user's own plot
    text = "".join(o.get("text", "") for o in outputs)
    assert "backend still: module://matplotlib_inline" in text and "digit0.png" in text
    # no flood of text-bar frames: a notebook gets a widget bar (with ipywidgets) or the epoch lines only
    assert text.count("batch/s") == 0 and "epoch   3/3" in text
    assert (tmp_path / "quickstart-runs" / "compare" / "report.html").is_file()
