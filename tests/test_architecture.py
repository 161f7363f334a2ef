"""The layered house: contracts (import-linter), no cycles, imports at the top, short files, dated figures."""
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "archbench"
# imported inside functions on purpose: optional extras, and what keeps `archbench --help` fast
LAZY_OK = {"optuna", "ray", "aeon", "sktime", "onnx", "onnxruntime", "skl2onnx", "playwright", "tensorboard",
           "torch.utils.tensorboard", "psycopg", "pyarrow", "nbclient", "numba", "sqlalchemy", "IPython"}
MAX_LINES = 400


def modules():
    return sorted(p for p in SRC.rglob("*.py"))


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "broken" in proc.stdout and " 0 broken" in proc.stdout


def _graph():
    """module -> the archbench modules it imports (top-level or inside a function)."""
    names = {}
    for p in modules():
        rel = p.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = p
    edges = {m: set() for m in names}
    for m, p in names.items():
        pkg = m.split(".") if p.name == "__init__.py" else m.split(".")[:-1]
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg[: len(pkg) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                for a in node.names:
                    cand = f"{prefix}.{a.name}"
                    targets.append(cand if cand in names else prefix)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                while t and t not in names:
                    t = t.rpartition(".")[0]
                if t and t != m and t != "archbench":  # the package face re-exports lazily
                    edges[m].add(t)
    return edges


def test_no_import_cycle_even_inside_functions():
    edges = _graph()
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


def test_imports_sit_at_the_top_of_each_file():
    found = []
    for p in modules():
        tree = ast.parse(p.read_text(encoding="utf-8"))
        guarded = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try)  # platform modules (fcntl, resource)
                   and any("ImportError" in ast.unparse(h.type or ast.Name("")) for h in t.handlers)
                   for stmt in t.body for n in ast.walk(stmt)}
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    mods = ["." * node.level + (node.module or "")]
                else:
                    continue
                if id(node) in guarded:
                    continue
                for mod in mods:
                    if not any(mod == ok or mod.startswith(ok + ".") for ok in LAZY_OK):
                        found.append(f"{p.relative_to(ROOT)}:{node.lineno} imports {mod} inside {fn.name}()")
    assert not found, "\n".join(found)


def test_every_source_file_is_short():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, "\n".join(long)


WORD = "sess" + "ion"  # spelled in pieces so that this file does not match itself
PRIVATE_COUNTER = re.compile(rf"\b({WORD}s? \d+|(earlier|same|this|later|previous) {WORD}s?|{WORD} before)\b", re.I)


def test_no_figure_is_dated_by_a_private_counter():
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *modules(), *(ROOT / "tests").glob("*.py"),
             *(ROOT / "benchmarks").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.sh")]
    hits = []
    for p in files:
        if p == Path(__file__):
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if PRIVATE_COUNTER.search(line):
                hits.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not hits, "\n".join(hits[:40])


def test_every_module_imports():
    failed = []
    for p in modules():
        rel = p.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.parts[-1] == "__init__" else rel.parts)
        if name.endswith("__main__"):
            continue
        try:
            __import__(name)
        except ImportError as e:  # an optional extra may be missing; a moved module may not
            if "archbench" in str(e):
                failed.append(f"{name}: {e}")
    assert not failed, "\n".join(failed)
