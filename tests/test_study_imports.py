"""The study package's imports: no cycles, no private names of other packages, no simulate; a light import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "nbtools"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(module imported, names imported from it) for every import in the file, also inside functions."""
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
            if node.module or not node.level:
                yield target, [a.name for a in node.names]
            else:  # "from . import x": the modules
                for a in node.names:
                    yield f"{target}.{a.name}", []


def _graph(paths):
    known = {_module(p) for p in paths}
    return {_module(p): {t for t, _ in _imports(p) if t in known and t != _module(p)} for p in paths}

STUDY = sorted((ROOT / "study").rglob("*.py"))
MINE = STUDY + [ROOT / "widgets" / "study_panel.py", ROOT / "widgets" / "study_results.py", ROOT / "cli.py"]


def test_no_import_cycle_in_study():
    graph = _graph(STUDY)
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != "open", "import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt])
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


@pytest.mark.parametrize("path", MINE, ids=[str(p.relative_to(ROOT)) for p in MINE])
def test_no_private_names_of_other_packages_and_no_simulate(path):
    own = _module(path).split(".")[:2]
    for target, names in _imports(path):
        if not target or not target.startswith("nbtools"):
            continue
        assert not target.startswith("nbtools.simulate"), f"{_module(path)} imports {target}"
        if target.split(".")[:2] == own:
            continue
        private = [n for n in names if n.startswith("_")] + [p for p in target.split(".")[2:] if p.startswith("_")]
        assert not private, f"{_module(path)} imports private {private} of {target}"


def test_batch_keeps_fit_many_and_gains_run():
    import nbtools.batch
    import nbtools.study

    assert callable(nbtools.batch.fit_many) and "run" in nbtools.batch.__all__
    assert nbtools.batch.run.__doc__ and "nbtools.study.run" in nbtools.batch.run.__doc__
    assert set(nbtools.study.__all__) >= {"run", "Study", "bootstrap_ci", "compare_groups", "proportional_fit"}


def test_import_is_light():
    code = ("import sys, nbtools.study; from nbtools.study import run; "
            "print(any(m in sys.modules for m in ('scipy.stats', 'bokeh', 'distributed', 'dask')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(ROOT).parent).stdout.strip()
    assert out == "False"
