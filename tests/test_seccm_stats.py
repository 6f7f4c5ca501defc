"""The one-pass curve statistics kernel shared by seccm.group_stats and the PixelSelector widget."""

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from nbtools import seccm
from nbtools.seccm.stats import curve_stats

PKG = Path(__file__).resolve().parents[1] / "nbtools"


def _reference(a, rows, level=0.95):
    ref = a[rows].astype(np.float64)
    n = np.isfinite(ref).sum(axis=0)
    mean = np.nanmean(ref, axis=0)
    sd = np.nanstd(ref, axis=0, ddof=1)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
    return mean, sd, n, half


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_curve_stats_matches_numpy_reference(dtype):
    rng = np.random.default_rng(3)
    a = rng.normal(4e-12, 1e-12, (300, 120)).astype(dtype)
    a[5, 90:] = np.nan  # NaN-padded (shorter) landings
    a[17, 40:] = np.nan
    rows = np.array([0, 5, 17, 30, 31, 200, 299])
    st = curve_stats(a, rows, level=0.9)
    mean, sd, n, half = _reference(a, rows, level=0.9)
    np.testing.assert_allclose(st["mean"], mean, rtol=1e-9)
    np.testing.assert_allclose(st["sd"], sd, rtol=1e-5)
    np.testing.assert_array_equal(st["n"], n)
    np.testing.assert_allclose(st["high"] - st["mean"], half, rtol=1e-5)


def test_group_stats_uses_shared_kernel_and_matches_numpy():
    rng = np.random.default_rng(4)
    n, m = 60, 50
    cur = rng.normal(0, 1e-12, (n, m))
    pot = np.linspace(3.7, 4.4, m)[None, :] + rng.normal(0, 1e-3, (n, m))  # per-landing potentials
    cur[3, 30:] = pot[3, 30:] = np.nan
    ds = seccm.from_arrays(cur, pot, (np.arange(n) % 10) * 1e-6, (np.arange(n) // 10) * 1e-6,
                           time=np.arange(m) * 1e-3, label=False)
    rows = np.array([1, 3, 8, 40, 59])
    g = seccm.group_stats(ds, rows)
    mean, sd, cnt, half = _reference(cur, rows)
    np.testing.assert_allclose(g.current.values, mean, rtol=1e-9)
    np.testing.assert_allclose(g.ci_high.values - g.current.values, half, rtol=1e-6)
    np.testing.assert_array_equal(g.n.values, cnt)
    np.testing.assert_allclose(g.potential.values, np.nanmean(pot[rows], axis=0), rtol=1e-12)


def test_widget_uses_the_seccm_kernel_and_seccm_never_imports_widgets():
    from nbtools.widgets import pixel_selector

    assert pixel_selector.curve_stats is curve_stats  # the widget draws what nbtools.seccm computes
    for f in (PKG / "seccm").glob("*.py"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                mod = ("." * node.level) + (node.module or "")
                assert "widgets" not in mod, f"{f.name} imports {mod}"
            elif isinstance(node, ast.Import):
                assert not any("widgets" in a.name for a in node.names), f.name


def test_curve_stats_bad_rows():
    from nbtools.errors import ParameterError

    with pytest.raises(ParameterError, match="rows"):
        curve_stats(np.zeros((3, 4)), [5])
