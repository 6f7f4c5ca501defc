"""The kinetics layer's imports: no cycles, no private names of other packages, no simulate in analysis."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "nbtools"
KINETICS = sorted((ROOT / "kinetics").glob("*.py"))
MINE = KINETICS + [ROOT / "batch.py", ROOT / "stick.py", ROOT / "simulate" / "particle.py",
                   ROOT / "seccm" / "cv_model.py"] + [ROOT / "widgets" / f"{m}.py" for m in (
                       "fit_panel", "fit_table", "fit_view", "particle_stick", "stick_views")]


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
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names = [a.name for a in node.names]
            if node.module or not node.level:
                yield target, names
            else:  # "from . import couples": the modules, not the package being initialised
                for n in names:
                    yield f"{target}.{n}", []


def _graph(paths):
    known = {_module(p) for p in paths}
    return {_module(p): {t for t, _ in _imports(p) if t in known and t != _module(p)} for p in paths}


def test_no_import_cycle_in_kinetics():
    graph = _graph(KINETICS)
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                pytest.fail("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


@pytest.mark.parametrize("path", MINE, ids=[str(p.relative_to(ROOT)) for p in MINE])
def test_no_private_names_of_other_packages(path):
    own = _module(path).split(".")[:2]  # nbtools.<package>
    for target, names in _imports(path):
        if not target or not target.startswith("nbtools") or target.split(".")[:2] == own:
            continue
        private = [n for n in names if n.startswith("_")] + \
                  [part for part in target.split(".")[2:] if part.startswith("_")]
        assert not private, f"{_module(path)} imports private {private} of {target}"


@pytest.mark.parametrize("path", KINETICS + [ROOT / "batch.py", ROOT / "stick.py"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_analysis_does_not_import_simulate(path):
    assert not any(t and t.startswith("nbtools.simulate") for t, _ in _imports(path))


def test_couples_model_is_one_class_in_two_places():
    from nbtools import kinetics, seccm
    from nbtools.seccm import cv_model

    assert seccm.CouplesCVModel is kinetics.CouplesCVModel is cv_model.CouplesCVModel
    assert kinetics.MODELS["CouplesCV"].model_class is kinetics.CouplesCVModel
    assert kinetics.CouplesCVModel(couples=1).entry is kinetics.MODELS["CouplesCV1"]
