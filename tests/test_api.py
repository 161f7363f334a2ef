"""The documented Python API: docs/api.md's examples run, `import *` works, old paths warn, results render."""
import importlib
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import archbench

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_docs_api_examples_run_top_to_bottom(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"docs/api.md block {i + 1}", "exec"), namespace)  # noqa: S102 - our own docs
        except Exception as e:  # name the block that broke
            raise AssertionError(f"docs/api.md block {i + 1} failed: {type(e).__name__}: {e}\n{code}") from e
    assert (tmp_path / "runs" / "cmp" / "comparison.md").is_file()


def test_star_import_gives_every_public_name():
    code = textwrap.dedent("""
        from archbench import *
        names = [train_model, compare_models, evaluate_run, predict, explain_run, draw_fundamentals,
                 load_run, build_report, TrainConfig, load_data, build_model, Trainer]
        print(len(names))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "12"


def test_no_public_name_is_shadowed_by_a_subpackage():
    pkg = Path(archbench.__file__).parent
    subpackages = {p.name for p in pkg.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in pkg.glob("*.py")}
    clash = set(archbench.__all__) & (subpackages | modules)
    assert not clash, f"public names that a submodule would shadow: {clash}"


@pytest.mark.parametrize("old,new", [("archbench.train.run", "archbench.experiment.run"),
                                     ("archbench.compare", "archbench.experiment.compare"),
                                     ("archbench.tune", "archbench.experiment.tune")])
def test_old_import_paths_work_with_a_deprecation_warning(old, new):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module(old)
    assert mod is importlib.import_module(new)
    assert mod.__spec__.name == new  # the alias leaves the real module's identity alone
    assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught)


def test_results_render_as_tables_in_a_notebook(tmp_path):
    from archbench.experiment.results import ComparisonResult, Record

    rec = Record({"test_accuracy": 0.5, "model": "mlp", "_test": object()})
    html = rec._repr_html_()
    assert "<table>" in html and "test_accuracy" in html and "_test" not in html
    cmp = ComparisonResult([{"data": "digits", "model": "mlp", "seed": 0, "test_accuracy": 0.9}], tmp_path)
    assert "<td>mlp</td>" in cmp._repr_html_() and cmp["rows"] == cmp.rows
