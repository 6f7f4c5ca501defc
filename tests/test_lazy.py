"""Lazy package attributes: ``import nbtools`` stays light, names resolve on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("bokeh", "ipywidgets", "jupyter_bokeh", "numba")


def test_import_leaves_heavy_modules_out():
    code = ("import json, sys, nbtools, nbtools.simulate, nbtools.widgets\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("package", ["nbtools", "nbtools.simulate", "nbtools.widgets"])
def test_unknown_attribute_names_the_module(package):
    import importlib

    mod = importlib.import_module(package)
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'no_such_name'"):
        mod.no_such_name  # noqa: B018


def test_every_listed_name_resolves_from_its_submodule():
    import nbtools.simulate
    import nbtools.widgets

    for mod in (nbtools.simulate, nbtools.widgets):
        assert dir(mod) == sorted(mod.__all__)
        for name in mod.__all__:
            obj = getattr(mod, name)
            assert obj.__module__.startswith(mod.__name__ + "."), (mod.__name__, name)
    from nbtools.widgets import SpikePicker

    assert SpikePicker.__module__ == "nbtools.widgets.spike_picker"


def test_top_level_submodules_are_modules_and_dir_keeps_defaults():
    import types

    import nbtools

    for name in ("io", "simulate", "kinetics", "batch"):
        assert isinstance(getattr(nbtools, name), types.ModuleType)
    assert {"Trace", "NbtoolsError", "__version__"} <= set(dir(nbtools))


def test_lazy_module_helper():
    from nbtools._lazy import lazy_module

    getattr_, dir_, all_ = lazy_module("nbtools", {"Trace": "trace"}, submodules=["units"])
    from nbtools.trace import Trace

    assert getattr_("Trace") is Trace
    assert getattr_("units").__name__ == "nbtools.units"
    assert dir_() == all_ == ["Trace", "units"]
    with pytest.raises(AttributeError, match="'nbtools' has no attribute 'x'"):
        getattr_("x")
