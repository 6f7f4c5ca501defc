"""One source of dependencies (pyproject.toml), mirrored in environment.yml; the console script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]

# PyPI name -> conda-forge name, where they differ beyond case and -/_.
# (npTDMS is "nptdms" on conda-forge; case is normalised anyway.)
CONDA_FORGE_NAMES: dict[str, str] = {}
# Installed by pip inside the conda environment (not confirmed on conda-forge).
PIP_IN_CONDA = {"pyabf"}


def norm(name: str) -> str:
    """PEP 503 normalisation: case and runs of -_. are not significant."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_deps() -> dict[str, SpecifierSet]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    out = {}
    for line in data["project"]["dependencies"]:
        req = Requirement(line)
        out[norm(CONDA_FORGE_NAMES.get(req.name, req.name))] = req.specifier
    return out


def environment_deps() -> tuple[dict[str, SpecifierSet], dict[str, SpecifierSet], list[str], list[str]]:
    """(conda deps, pip deps, pip lines, channels) from environment.yml, read without a YAML library."""
    conda, pip, pip_lines, channels = {}, {}, [], []
    section = None
    in_pip = False
    for raw in (REPO / "environment.yml").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw.startswith(" "):
            section = line.split(":", 1)[0]
            in_pip = False
            continue
        item = line.strip()
        if not item.startswith("- "):
            continue
        item = item[2:].strip()
        if section == "channels":
            channels.append(item)
        elif section == "dependencies":
            if item == "pip:":
                in_pip = True
            elif in_pip and raw.startswith("      "):
                pip_lines.append(item)
                if not item.startswith("-"):
                    req = Requirement(item)
                    pip[norm(req.name)] = req.specifier
            else:
                in_pip = False
                m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", item)
                conda[norm(m.group(1))] = SpecifierSet(m.group(2).replace(" ", ""))
    return conda, pip, pip_lines, channels


def test_environment_yml_matches_pyproject():
    want = pyproject_deps()
    conda, pip, pip_lines, channels = environment_deps()
    assert channels == ["conda-forge"]
    assert "-e ." in pip_lines, "environment.yml must install the project itself (pip: - -e .)"
    assert "python" in conda and conda["python"] == SpecifierSet(">=3.10")
    have = {k: v for k, v in {**conda, **pip}.items() if k not in ("python", "pip")}
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    assert not missing, f"in pyproject.toml but not in environment.yml: {missing}"
    assert not extra, f"in environment.yml but not in pyproject.toml dependencies: {extra}"
    differ = {k: (str(want[k]), str(have[k])) for k in want if want[k] != have[k]}
    assert not differ, f"version bounds differ (pyproject, environment.yml): {differ}"
    for name in pip:
        assert name in PIP_IN_CONDA, f"{name} is under pip: in environment.yml; use the conda-forge package"


def test_requires_python_and_required_packages():
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["requires-python"] == ">=3.10"
    assert data["project"]["name"] == "nbtools-nanoechem"
    deps = pyproject_deps()
    for name in ("jupyterlab", "ipywidgets", "voila", "numpy", "scipy", "lmfit", "bokeh", "jupyter-bokeh", "pandas"):
        assert name in deps, f"{name} is a required dependency"
    assert data["project"]["scripts"]["nbtools"] == "nbtools.cli:main"


def test_cli_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "nbtools.cli", "--help"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    for cmd in ("serve", "list", "info"):
        assert re.search(rf"^\s+{cmd}\s", out, re.M), f"'{cmd}' missing from nbtools --help:\n{out}"
    serve = subprocess.run([sys.executable, "-m", "nbtools.cli", "serve", "--help"], capture_output=True,
                           text=True, timeout=60, check=True).stdout
    for opt in ("--port", "--ip", "--no-browser", "--cull-after", "PATH"):
        assert opt in serve


def test_console_script_installed():
    script = Path(sys.executable).with_name("nbtools")
    if not script.exists():
        pytest.skip("nbtools console script not installed in this environment (pip install -e .)")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "serve" in out


def test_cli_list_and_info(tmp_path):
    import json

    nb = {"cells": [], "metadata": {"nbtools": {"title": "T", "description": "D line", "order": 1}},
          "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "b.ipynb").write_text(json.dumps(nb))
    (tmp_path / "a.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    out = subprocess.run([sys.executable, "-m", "nbtools.cli", "list", str(tmp_path)], capture_output=True,
                         text=True, timeout=60, check=True).stdout.splitlines()
    assert out[0].startswith("b.ipynb") and "T: D line" in out[0]  # ordered by metadata order
    assert out[1].startswith("a.ipynb") and "A" in out[1]  # no metadata: titled by file name
    info = subprocess.run([sys.executable, "-m", "nbtools.cli", "info"], capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert "voila" in info and "notebooks" in info


def test_cli_serve_refuses_missing_folder(tmp_path):
    res = subprocess.run([sys.executable, "-m", "nbtools.cli", "serve", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "is not a folder" in res.stderr


def test_cli_serve_reports_busy_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = subprocess.run([sys.executable, "-m", "nbtools.cli", "serve", "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert res.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in res.stderr and "--port" in res.stderr
