"""PixelSelector and its ImageOverlay panel without a browser.

Selections are made as the map's Bokeh tools make them (``source.selected.indices``);
state is read from ``.groups``, ``.params``, the Bokeh sources and the status line.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from nbtools import seccm
from nbtools.errors import ParameterError
from nbtools.seccm.overlay import load_image, register_image, warp_to_map
from nbtools.simulate import seccm_scan
from nbtools.seccm.stats import curve_stats
from nbtools.widgets.pixel_selector import MAPS, PixelSelector, export_groups, robust_limits


@pytest.fixture(scope="module")
def scan():
    return seccm_scan(nx=16, ny=14, n_samples=240, seed=5)


@pytest.fixture
def sel(scan):
    return PixelSelector(scan[0])


def _status_text(s):
    return s.status.value


# ------------------------------------------------------------------ curve statistics
def test_curve_stats_matches_numpy_reference():
    rng = np.random.default_rng(1)
    cur = rng.normal(3e-12, 1e-12, (50, 80)).astype(np.float32)
    cur[7, 60:] = np.nan  # padded curve
    rows = np.array([1, 7, 9, 20, 33])
    st = curve_stats(cur, rows)
    ref = cur[rows].astype(np.float64)
    np.testing.assert_allclose(st["mean"], np.nanmean(ref, axis=0), rtol=1e-9)
    np.testing.assert_allclose(st["sd"], np.nanstd(ref, axis=0, ddof=1), rtol=1e-6)
    np.testing.assert_array_equal(st["n"], np.isfinite(ref).sum(axis=0))
    from scipy import stats

    half = stats.t.ppf(0.975, st["n"] - 1) * st["sd"] / np.sqrt(st["n"])
    np.testing.assert_allclose(st["high"] - st["mean"], half, rtol=1e-6)


def test_curve_stats_agrees_with_core_group_stats(scan):
    ds, _ = scan
    rows = np.flatnonzero(ds.status.values == "landed")[:40]
    st = curve_stats(ds.current.values, rows)
    g = seccm.group_stats(ds, rows)
    np.testing.assert_allclose(st["mean"], g.current.values, rtol=1e-6, atol=1e-18)
    np.testing.assert_allclose(st["low"], g.ci_low.values, rtol=1e-5, atol=1e-17)


def test_robust_limits_ignore_outliers():
    v = np.r_[np.linspace(0, 1, 1000), 1e6, np.nan]
    lo, hi = robust_limits(v)
    assert 0 <= lo < 0.05 and 0.95 < hi <= 1.0


# ------------------------------------------------------------------ map and selection
def test_map_image_and_colour_limits(sel, scan):
    ds, _ = scan
    img = sel.map_view.image_source.data["image"][0]
    assert img.shape == tuple(ds.attrs["grid_shape"])
    q = seccm.charge(ds).values
    # image row 0 is the first grid row (y ascending: Bokeh draws row 0 at the bottom)
    label, scale = sel.map_view.colorbar.title.rsplit("/ ", 1)[1], None
    assert label.endswith("C")
    assert np.nanargmax(img) == np.nanargmax(q)
    assert sel.map_view.mapper.low < sel.map_view.mapper.high
    assert sel.map_view.mapper.high <= np.nanmax(img)


@pytest.mark.parametrize("key", list(MAPS))
def test_every_map_shows(sel, key):
    sel.show_map(key)
    assert sel.options.shown == key and sel.options.choice.value == key and sel.recipe.map.map == key
    xr.testing.assert_identical(sel.map, seccm.make_map(sel.ds, sel.recipe.map))
    assert sel.map_view.colorbar.title
    assert "error" not in _status_text(sel).lower()


def test_failed_landings_marked(sel, scan):
    ds, _ = scan
    n_bad = int((ds.status.values != "landed").sum())
    assert n_bad > 0
    assert len(sel.map_view.failed_source.data["x"]) == n_bad
    sel.mark_failed_box.value = False  # the checkbox drives the trait
    assert len(sel.map_view.failed_source.data["x"]) == 0


def test_selection_updates_curves_and_means(sel, scan):
    ds, _ = scan
    landed = np.flatnonzero(ds.status.values == "landed")
    failed = np.flatnonzero(ds.status.values != "landed")[:2]
    pick = np.r_[landed[:5], failed]
    sel.source.selected.indices = pick.tolist()  # what tap/box/lasso do
    np.testing.assert_array_equal(sel.selection, np.sort(pick))
    assert sel.curve_view.n_curves == 5  # failed pixels left out
    assert np.isnan(sel.curve_view.curves_source.data["y"]).sum() == 4  # one line, NaN between the curves
    assert "7 pixels" in sel.selection_info.value and "2 failed left out" in sel.selection_info.value
    names = sel.curve_view.means_source.data["name"]
    assert any(n.startswith("selection (n=5)") for n in names)
    mean = sel.curve_view.means_source.data["ys"][names.index("selection (n=5)")]
    np.testing.assert_allclose(mean, ds.current.values[landed[:5]].mean(axis=0) * sel.cur_scale, rtol=1e-5)
    sel.include_failed = True
    assert sel.curve_view.n_curves == 7


def test_at_most_max_curves_are_drawn(scan):
    ds, _ = scan
    s = PixelSelector(ds, max_curves=10)
    s.select(np.arange(ds.sizes["pixel"]))
    assert s.curve_view.n_curves == 10
    assert s.last_response_s < 1.0


def test_groups_add_remove_clear(sel, scan):
    ds, _ = scan
    sel.select([3, 4, 5])
    sel.add_to_group("particle")
    sel.select([5, 6])
    sel.add_to_group("substrate")
    assert sel.group_choice.value == "particle"  # the first group is chosen at start
    sel.group_choice.value = "substrate"
    sel.remove_button.click()  # removes the selection from the chosen group
    g = sel.groups
    assert set(g) == {"particle", "substrate"}
    p = g["particle"]
    assert p.dims == ("y", "x") and p.dtype == bool and int(p.sum()) == 3
    for i in (3, 4, 5):
        assert bool(p.values[ds.iy.values[i], ds.ix.values[i]])
    assert int(g["substrate"].sum()) == 0
    sel.group_choice.value = "particle"
    sel.clear_button.click()
    assert int(sel.groups["particle"].sum()) == 0
    assert "cleared" in _status_text(sel)


def test_add_with_empty_selection_warns(sel):
    sel.source.selected.indices = []
    sel.add_button.click()
    assert "Nothing selected" in _status_text(sel)


def test_new_group_and_bad_names(sel):
    sel.new_name.value = "crack"
    sel.new_button.click()
    assert "crack" in sel.group_choice.options and sel.group_choice.value == "crack"
    assert sel.colors["crack"] not in (sel.colors["particle"], sel.colors["substrate"])
    sel.new_name.value = "particle"
    sel.new_button.click()
    assert "exists already" in _status_text(sel) and "nbtools-error" in _status_text(sel)
    sel.new_name.value = "  "
    sel.new_button.click()
    assert "empty" in _status_text(sel)


def test_auto_classify_button(sel, scan):
    ds, truth = scan
    sel.auto_button.click()
    text = _status_text(sel)
    n_part = int(sel.groups["particle"].sum())
    assert f"particle: {n_part} pixels" in text
    expected = seccm.classify(ds).values
    np.testing.assert_array_equal(sel.groups["particle"].values, expected)
    np.testing.assert_array_equal(sel.groups["substrate"].values, ~expected)
    # particle pixels carry more charge than substrate pixels
    df = sel.summary()
    q = df.set_index("group")["charge_mean_C"]
    assert q["particle"] > 5 * abs(q["substrate"])
    assert "particle" in sel.summary_html.value and "±" in sel.summary_html.value
    # the group means are drawn with a band
    assert len(sel.curve_view.band_source.data["xs"]) == 2


def test_params_round_trip(sel, scan):
    ds, _ = scan
    sel.select([1, 2, 30])
    sel.add_to_group("particle")
    sel.new_group("edge")
    sel.select([40, 41])
    sel.add_to_group("edge")
    sel.show_map("peak_potential_anodic")
    sel.include_failed = True
    p = json.loads(json.dumps(sel.params))  # JSON-serialisable
    other = PixelSelector(ds, params=p)
    for name in ("particle", "substrate", "edge"):
        xr.testing.assert_equal(other.groups[name], sel.groups[name])
    assert other.options.shown == "peak_potential" and other.recipe.map.direction == "anodic"
    assert other.recipe == sel.recipe
    assert other.include_failed is True
    assert other.params["groups"] == p["groups"]


def test_params_for_another_scan_rejected(sel):
    p = dict(sel.params, n_pixels=5)
    with pytest.raises(ParameterError, match="5 pixels"):
        sel.set_params(p)


def test_custom_map_and_bad_map(scan):
    ds, _ = scan
    q = seccm.charge(ds) * 2
    q.attrs = {"units": "C", "long_name": "double charge"}
    s = PixelSelector(ds, map=q.rename("double"))
    assert s.options.shown == "double" and s.options.choice.value == "double" and s.map is not None
    assert "double charge" in s.map_view.colorbar.title
    with pytest.raises(ParameterError, match="expected one of"):
        PixelSelector(ds, map="nonsense")
    with pytest.raises(ParameterError, match="scan grid"):
        s.add_map("bad", xr.DataArray(np.zeros((3, 3)), dims=("y", "x")))


def test_set_group_from_map(sel, scan):
    ds, truth = scan
    m = xr.DataArray(truth["particle"], dims=("y", "x"))
    sel.set_group("truth", m)
    assert int(sel.groups["truth"].sum()) == int(truth["particle"].sum())


# ------------------------------------------------------------------ export
def test_export_never_overwrites(sel, scan, tmp_path):
    ds, _ = scan
    sel.select([1, 2, 3])
    sel.add_to_group("particle")
    first = sel.export(tmp_path)
    assert sorted(p.name for p in first) == ["seccm_groups.csv", "seccm_groups.nc", "seccm_mean_curves.csv",
                                             "seccm_selector.json"]
    again = PixelSelector(ds, params=json.loads((tmp_path / "seccm_selector.json").read_text()))
    xr.testing.assert_equal(again.groups["particle"], sel.groups["particle"])
    masks = xr.open_dataset(tmp_path / "seccm_groups.nc", engine="h5netcdf").load()
    assert int(masks["particle"].sum()) == 3
    table = pd.read_csv(tmp_path / "seccm_groups.csv")
    assert table["particle"].sum() == 3 and len(table) == ds.sizes["pixel"]
    curves = pd.read_csv(tmp_path / "seccm_mean_curves.csv")
    use = [i for i in (1, 2, 3) if ds.status.values[i] == "landed"]
    np.testing.assert_allclose(curves["particle mean_A"], ds.current.values[use].mean(axis=0), rtol=1e-5)
    before = (tmp_path / "seccm_groups.csv").read_bytes()
    second = sel.export(tmp_path)
    assert {p.name for p in second} == {"seccm_groups_2.csv", "seccm_groups_2.nc", "seccm_mean_curves_2.csv",
                                        "seccm_selector_2.json"}
    assert (tmp_path / "seccm_groups.csv").read_bytes() == before


def test_export_button_errors_shown(sel, tmp_path):
    sel.export_folder.value = str(tmp_path / "missing")
    sel.export_button.click()
    assert "does not exist" in _status_text(sel)
    sel.export_folder.value = str(tmp_path)
    sel.export_button.click()  # no pixels in any group
    assert "no groups" in _status_text(sel)


def test_export_groups_function(scan, tmp_path):
    ds, truth = scan
    out = export_groups(ds, {"p": xr.DataArray(truth["particle"], dims=("y", "x"))}, tmp_path, formats=("csv",))
    assert [p.suffix for p in out] == [".csv", ".csv"]
    with pytest.raises(ParameterError, match="formats"):
        export_groups(ds, {"p": [1]}, tmp_path, formats=("xlsx",))


# ------------------------------------------------------------------ overlay: pure functions
def _known_affine():
    a = np.deg2rad(12.0)
    s = 0.4e-6
    M = np.eye(3)
    M[:2, :2] = s * np.array([[np.cos(a), np.sin(a)], [np.sin(a), -np.cos(a)]])
    M[:2, 2] = [3e-6, 30e-6]
    return M


def test_as_rgba_for_display():
    from nbtools.widgets.image_overlay import as_rgba

    g16 = (np.arange(20 * 30).reshape(20, 30) * 50).astype(np.float64)
    a = as_rgba(g16)
    assert a.shape == (20, 30, 4) and a.dtype == np.uint8 and a[..., 0].max() == 255 and a[..., 0].min() == 0
    assert (a[..., 3] == 255).all()
    rgb = np.zeros((4, 5, 3), np.uint8)
    assert as_rgba(rgb).shape == (4, 5, 4)
    with pytest.raises(ParameterError, match="expected"):
        as_rgba(np.zeros((2, 2, 7)))


# ------------------------------------------------------------------ overlay in the widget
def test_overlay_registration_and_lasso_selection(scan, tmp_path):
    from PIL import Image

    ds, truth = scan
    s = PixelSelector(ds)
    M = _known_affine()
    Image.fromarray(np.full((120, 160), 128, np.uint8), mode="L").save(tmp_path / "sem.png")
    ov = s.overlay
    ov.path.value = str(tmp_path / "sem.png")
    ov.load_button.click()
    assert "160 x 120" in _status_text(s.overlay)
    src = np.array([[10.0, 10.0], [150.0, 12.0], [20.0, 110.0], [140.0, 100.0]])
    ov.set_points(src, src @ M[:2, :2].T + M[:2, 2])
    ov.register_button.click()
    np.testing.assert_allclose(ov.registration.matrix, M, rtol=1e-3, atol=1e-9)
    assert s.map_view.overlay_renderer.visible and "residual" in ov.info.value
    ov.opacity.value = 0.2
    assert s.map_view.overlay_renderer.glyph.global_alpha == pytest.approx(0.2)
    ov.visible.value = False
    assert not s.map_view.overlay_renderer.visible
    # a lasso drawn on the image selects the pixel centres inside it (the lasso tool's job in the
    # browser): here the pixels under the image's first 40 columns
    cr = ov.registration.to_image(np.column_stack([s.source.data["x"], s.source.data["y"]]) * 1e-6)
    under = np.flatnonzero((cr[:, 0] >= 0) & (cr[:, 0] < 40) & (cr[:, 1] >= 0) & (cr[:, 1] < 120))
    assert under.size > 0
    s.source.selected.indices = under.tolist()
    s.add_to_group("particle")
    assert int(s.groups["particle"].sum()) == under.size
    p = json.loads(json.dumps(s.params))
    assert p["overlay"]["image"].endswith("sem.png") and len(p["overlay"]["control_points"]) == 4
    again = PixelSelector(ds, params=p)
    np.testing.assert_allclose(again.overlay.registration.matrix, ov.registration.matrix)


def test_overlay_bad_input_shown(scan, tmp_path):
    ds, _ = scan
    s = PixelSelector(ds)
    ov = s.overlay
    (tmp_path / "broken.tif").write_bytes(b"II*\x00garbage")
    ov.path.value = str(tmp_path / "broken.tif")
    ov.load_button.click()
    assert "nbtools-error" in _status_text(s.overlay) and "broken.tif" in _status_text(s.overlay)
    ov.register_button.click()
    assert "load an image first" in _status_text(s.overlay)
    ov.load(np.zeros((20, 20), np.uint8))
    ov.points.value = "# column_px, row_px, x_um, y_um\n1, 2, 3, 4\n5, 6, 7, 8\n"
    ov.register_button.click()
    assert "2 pair(s)" in _status_text(s.overlay) and "at least 3" in _status_text(s.overlay)
    ov.points.value = "1, 2, 3\n"
    ov.register_button.click()
    assert "four numbers" in _status_text(s.overlay)
    ov.corners_button.click()  # stretch over the scan: always registrable
    assert ov.registration is not None and s.map_view.overlay_renderer.visible


def test_bundled_example_registers_to_truth():
    """data/seccm_example_sem_points.csv registers the bundled SEM image onto the scan."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data"
    if not (data / "seccm_example_sem.png").exists():
        pytest.skip("bundled SECCM example not generated (python data/make_seccm_example.py)")
    pts = pd.read_csv(data / "seccm_example_sem_points.csv")
    img = load_image(data / "seccm_example_sem.png")
    a = register_image(img, pts[["column_px", "row_px"]].values, pts[["x_um", "y_um"]].values * 1e-6)
    assert a.rms < 1e-8
    ds = seccm.load(data / "seccm_example.nc")
    truth = np.load(data / "seccm_example_truth.npz")
    grid_x, grid_y = np.asarray(ds.attrs["grid_x"]), np.asarray(ds.attrs["grid_y"])
    warped = warp_to_map(img, a, grid_x, grid_y).values.astype(float)
    # bright image regions are the particles
    part = truth["particle"]
    assert warped[part].mean() > warped[~part].mean() + 50


def test_browser_selection_message_runs_the_callback_once(scan):
    """A selection as the browser sends it (jupyter_bokeh 'jsevent') updates the widget, computed once."""
    ds, _ = scan
    s = PixelSelector(ds)
    bm = next(c for c in s.widget.children if type(c).__name__ == "BokehModel")
    calls = []
    s.observe(lambda change: calls.append(change["new"]), names="selection")
    content = {"event": "jsevent", "kind": "ModelChanged", "model": {"id": s.source.selected.id},
               "attr": "indices", "new": [5, 6, 7]}
    bm._sync_model(bm, content, [])
    np.testing.assert_array_equal(s.selection, [5, 6, 7])
    assert "3 pixels" in s.selection_info.value
    assert len(calls) == 1  # jupyter_bokeh 4.1 invokes on_change callbacks twice; the selection changes once


def test_control_points_by_clicking_and_upload(scan, tmp_path):
    from types import SimpleNamespace

    from PIL import Image

    ds, _ = scan
    s = PixelSelector(ds)
    ov = s.overlay
    ov.add_point_button.click()
    assert "load an image first" in _status_text(s.overlay)
    buf = tmp_path / "upload.png"
    Image.fromarray(np.full((50, 80), 90, np.uint8), mode="L").save(buf)
    ov._on_upload({"new": [{"name": "sem.png", "content": memoryview(buf.read_bytes())}]})
    assert ov.image.shape == (50, 80, 4) and ov.path.value.endswith("sem.png")
    assert ov.image_box.children  # the clickable image plot
    ov.add_point_button.click()
    assert "click a feature on the image" in _status_text(s.overlay)
    M = _known_affine()
    src = np.array([[5.0, 5.0], [70.0, 8.0], [10.0, 45.0]])
    dst = src @ M[:2, :2].T + M[:2, 2]
    ov.points.value = ""
    for (c, r), (x, y) in zip(src, dst):
        ov._on_image_tap(SimpleNamespace(x=c, y=r))  # click on the image plot
        s._on_tap(SimpleNamespace(x=x * 1e6, y=y * 1e6))  # click on the map (µm)
        ov.add_point_button.click()
    assert "Control point 3 added" in _status_text(s.overlay)
    assert "image: column 10.0, row 45.0" in ov.tap_info.value
    ov.register_button.click()
    np.testing.assert_allclose(ov.registration.matrix, M, rtol=1e-3, atol=2e-9)


def test_ragged_curves_and_per_pixel_potentials(tmp_path):
    """Landings of unequal length (NaN-padded) with their own potential vectors."""
    rng = np.random.default_rng(4)
    cur, pot = [], []
    for k in range(12):
        n = 60 + 5 * k
        e = np.linspace(0.0, 0.5, n)
        pot.append(e)
        cur.append(1e-11 * e + rng.normal(0, 1e-13, n))
    ds = seccm.from_arrays(cur, pot, grid=(3, 4), dt=0.01, label=False)
    s = PixelSelector(ds, map="current_at")
    s.select([0, 11])
    x, n = s.curve_view.curves_source.data["x"], ds.sizes["sample"]
    assert s.curve_view.n_curves == 2 and x.size == 2 * n + 1  # two padded curves and the gap between
    assert np.isnan(x[n - 1]) and np.isnan(x[n]) and np.isfinite(x[n + 1])
    st = curve_stats(ds.current.values, [0, 11])
    assert st["n"][0] == 2 and st["n"][-1] == 1  # only the longest landing reaches the last sample
    s.add_to_group("particle")
    paths = s.export(tmp_path)
    curves = pd.read_csv(next(p for p in paths if p.name.endswith("mean_curves.csv")))
    assert np.isfinite(curves["potential_V"]).sum() == ds.sizes["sample"]


def test_curve_stats_properties():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=25, deadline=None)
    @given(seed=st.integers(0, 10_000), offset=st.floats(-1e-9, 1e-9), k=st.integers(2, 30))
    def check(seed, offset, k):
        rng = np.random.default_rng(seed)
        cur = rng.normal(0, 1e-12, (40, 25))
        rows = rng.choice(40, k, replace=False)
        a = curve_stats(cur, rows)
        b = curve_stats(cur + offset, rng.permutation(rows))  # order and offset do not matter
        np.testing.assert_allclose(b["mean"] - offset, a["mean"], atol=1e-20 + 1e-9 * abs(offset))
        np.testing.assert_allclose(b["sd"], a["sd"], rtol=1e-4, atol=1e-16 + 1e-7 * abs(offset))
        c = curve_stats(-cur, rows)  # polarity mirror
        np.testing.assert_allclose(c["mean"], -a["mean"], atol=1e-25)
        np.testing.assert_allclose(c["high"], -a["low"], atol=1e-25)

    check()


def test_outline_segments_of_a_square():
    from nbtools.widgets.pixel_selector import outline_segments

    m = np.zeros((5, 6), bool)
    m[1:3, 2:5] = True  # 2 rows x 3 columns
    x0, y0, x1, y1 = outline_segments(m, np.arange(6.0), np.arange(5.0) * 2)
    assert len(x0) == 2 * (2 + 3)  # the perimeter in pixel edges
    length = np.hypot(x1 - x0, y1 - y0).sum()
    assert length == pytest.approx(2 * (3 * 1.0 + 2 * 2.0))
    assert x0.min() == pytest.approx(1.5) and max(x0.max(), x1.max()) == pytest.approx(4.5)
    assert min(y0.min(), y1.min()) == pytest.approx(1.0) and max(y0.max(), y1.max()) == pytest.approx(5.0)


def test_auto_classify_on_a_homogeneous_scan_says_why_it_did_not_split():
    """classify declines on one population; the widget shows its note instead of 'particle: 0 pixels'."""
    from nbtools.seccm import from_arrays
    from nbtools.widgets import PixelSelector

    rng = np.random.default_rng(3)
    e = np.concatenate([np.linspace(3.7, 4.4, 100), np.linspace(4.4, 3.7, 100)])
    n = 36
    cur = 1e-12 * (1 + 0.05 * rng.standard_normal((n, 1))) * np.sign(np.gradient(e))[None, :]
    cur = cur + 1e-15 * rng.standard_normal((n, e.size))
    ds = from_arrays(cur, e, grid=(6, 6), time=np.arange(e.size) * 0.01)
    sel = PixelSelector(ds)
    sel.auto_classify()
    assert "no particle/substrate split" in sel.status.value
    assert "particle: 0 pixels" not in sel.status.value


# ------------------------------------------------------------------ recipes (issue 9)
@pytest.fixture(scope="module")
def scan20():
    return seccm_scan(nx=20, ny=20, n_samples=300, seed=3)


def test_auto_classify_honours_the_window(scan20):
    """Was: the widget passed its cached whole-sweep charge map, so window= was silently ignored."""
    ds, _ = scan20
    w = (3.9, 4.1)
    with_window, without = seccm.classify(ds, window=w), seccm.classify(ds)
    assert (with_window.values != without.values).sum() > 10  # the window matters on this scan
    sel = PixelSelector(ds)
    mask = sel.auto_classify(window=w)
    np.testing.assert_array_equal(sel.groups["particle"].values, with_window.values)
    np.testing.assert_array_equal(sel.groups["substrate"].values, ~with_window.values)
    assert sel.recipe.classify.window == w and mask.attrs["recipe"] == sel.recipe.classify
    xr.testing.assert_identical(sel.mask, with_window)
    assert sel.classify_options.window.use.value and sel.classify_options.window.low.value == 3.9
    # the window box drives the same recipe: the button then classifies in it
    sel.classify_options.window.use.value = False
    sel.auto_button.click()
    np.testing.assert_array_equal(sel.groups["particle"].values, without.values)


def test_auto_classify_on_peak_height_and_on_the_map_shown(scan20):
    ds, _ = scan20
    sel = PixelSelector(ds)
    sel.classify_options.activity.value = "peak_current"
    sel.auto_button.click()
    np.testing.assert_array_equal(sel.groups["particle"].values, seccm.classify(ds, activity="peak_current").values)
    sel.show_map("peak_prominence")
    sel.auto_classify(activity="given")
    np.testing.assert_array_equal(sel.groups["particle"].values, seccm.classify(ds, sel.map).values)
    assert "peak height" in sel.status.value


def test_recipe_read_write_moves_the_map_and_controls(sel, scan):
    ds, _ = scan
    sel.recipe = seccm.MapRecipe(map="current_at", potential=4.1, branch="cathodic")  # a part: merged in
    assert sel.options.shown == "current_at" and sel.options.choice.value == "current_at"
    assert sel.options.controls["potential"].value == 4.1 and sel.options.controls["branch"].value == "cathodic"
    assert sel.options.controls["potential"].layout.display is None
    assert sel.options.controls["window"].layout.display == "none"  # current_at reads no window
    xr.testing.assert_identical(sel.map, seccm.make_map(ds, sel.recipe.map))
    np.testing.assert_array_equal(sel.map.values, seccm.current_at(ds, 4.1, branch="cathodic").values)
    sel.options.controls["potential"].value = 3.95  # a control edits the recipe
    assert sel.recipe.map.potential == 3.95 and sel.map.attrs["recipe"] == sel.recipe.map
    sel.options.choice.value = "onset"
    sel.options.controls["onset_current"].value = 7.0  # in the display unit
    assert sel.recipe.map.onset_current == pytest.approx(7.0 / sel.cur_scale)
    onset = seccm.onset(ds, sel.recipe.map.onset_current, branch="cathodic")
    np.testing.assert_array_equal(sel.map.values, onset.values)
    full = seccm.AnalysisRecipe(map=seccm.MapRecipe(map="peak_potential", direction="cathodic"),
                                classify=seccm.ClassifyRecipe(window=(3.9, 4.2)))
    sel.recipe = seccm.AnalysisRecipe.from_json(full.to_json())
    assert sel.recipe.map.direction == "cathodic" and sel.recipe.map.potential is not None  # defaults filled
    assert sel.options.controls["direction"].value == "cathodic" and sel.classify_options.window.window == (3.9, 4.2)
    with pytest.raises(ParameterError, match="MapRecipe, ClassifyRecipe or PixelFitRecipe, found QualityRecipe"):
        sel.recipe = seccm.QualityRecipe()


def test_recipe_bar_saves_and_loads_the_dashboard(scan, tmp_path):
    from nbtools.recipes import from_json
    from nbtools.widgets import RecipeBar

    ds, _ = scan
    a = PixelSelector(ds)
    a.show_map("peak_separation")
    a.auto_classify(window=(3.9, 4.3))
    path = RecipeBar(a, folder=tmp_path, stem="seccm_recipe").save()
    assert from_json(path) == a.recipe and from_json(path).kind == "seccm.analysis"
    b = PixelSelector(ds)
    bar = RecipeBar(b)
    bar.load(path)
    assert b.recipe == a.recipe and b.options.shown == "peak_separation" and "Loaded" in bar.status.value
    xr.testing.assert_identical(b.map, a.map)


def test_params_of_an_older_version_still_load(scan):
    ds, _ = scan
    old = {"map": "peak_current_cathodic", "map_options": {"potential": 4.12, "onset_current": 3e-12},
           "groups": {"particle": [1, 2]}, "colors": {}, "options": {}, "n_pixels": ds.sizes["pixel"]}
    s = PixelSelector(ds, params=old)
    assert (s.recipe.map.map, s.recipe.map.direction, s.recipe.map.potential) == ("peak_current", "cathodic", 4.12)
    assert int(s.groups["particle"].sum()) == 2


# ------------------------------------------------------------------ issue 11: labels on hover, marks, Auto, bands
def test_hover_shows_value_and_why_the_landing_got_its_label(sel, scan):
    ds, _ = scan
    data = sel.source.data
    assert list(data["why"]) == list(ds.status_reason.values)
    hover = [t for t in sel.map_view.figure.tools if type(t).__name__ == "HoverTool"]
    assert len(hover) == 1 and ("landing", "@why") in hover[0].tooltips
    assert ("value", "@pixel{custom}") in hover[0].tooltips  # numbers sent, written in the browser (3 digits)
    fmt = sel.map_view.value_format
    assert fmt.args["unit"].endswith("C") and fmt.args["names"] == [] and "toPrecision(3)" in fmt.code
    v = np.asarray(data["value"], float)
    q = seccm.charge(ds).values
    scale = 10.0 ** round(np.log10(np.nanmax(np.abs(v)) / np.nanmax(np.abs(q))))
    np.testing.assert_allclose(v, (q * scale)[ds.iy.values, ds.ix.values], rtol=1e-6)  # in the display unit
    assert 1 <= np.nanpercentile(np.abs(v), 98) < 1000
    sel.show_map("status")
    names = sel.map_view.value_format.args["names"]
    assert set(names) <= {s.replace("_", " ") for s in seccm.STATUS_VALUES}
    codes = np.asarray(sel.source.data["value"], float)
    assert [names[int(c)] for c in codes] == [s.replace("_", " ") for s in ds.status.values]


def test_mark_landed_and_failed_are_used_by_statistics_and_kept(scan):
    ds, _ = scan
    sel = PixelSelector(ds)
    bad = np.flatnonzero(ds.status.values == "no_contact")[:2]
    good = np.flatnonzero(ds.status.values == "landed")[:3]
    sel.select(bad)
    sel.mark_buttons["landed"].click()
    assert "Marked 2 landing(s) as landed by hand" in sel.status.value
    assert (sel.ds.status.values[bad] == "landed").all() and (ds.status.values[bad] == "no_contact").all()
    assert sel.source.data["why"][bad[0]].startswith("landed: marked by you (the statistics said: no contact")
    assert len(sel.map_view.failed_source.data["x"]) == int((ds.status.values != "landed").sum()) - 2
    sel.add_to_group("particle")
    assert sel.summary().set_index("group").loc["particle", "n_used"] == 2
    sel.select(good)
    sel.mark_buttons["failed_landing"].click()
    assert sel.summary().set_index("group").loc["particle", "n_used"] == 2
    with pytest.raises(Exception, match="none of the 3 selected pixels is usable"):
        seccm.group_stats(sel.ds, good)
    # the marks travel with .params, and come off again
    p = json.loads(json.dumps(sel.params))
    assert p["status_override"] == {**{str(i): "landed" for i in bad}, **{str(i): "failed_landing" for i in good}}
    other = PixelSelector(ds, params=p)
    np.testing.assert_array_equal(other.ds.status.values, sel.ds.status.values)
    sel.select(np.r_[bad, good])
    sel.mark_buttons[None].click()
    np.testing.assert_array_equal(sel.ds.status.values, ds.status.values)
    sel.select([])
    sel.mark("landed")
    assert "Nothing selected" in sel.status.value


def test_auto_classify_never_touches_a_group_the_user_made(scan20):
    ds, _ = scan20
    sel = PixelSelector(ds)
    sel.select([0, 1, 2])
    sel.add_to_group("particle")  # the user's own particle group
    mine = sel.group_masks["particle"].copy()
    mask = sel.auto_classify()
    np.testing.assert_array_equal(sel.group_masks["particle"], mine)
    np.testing.assert_array_equal(sel.groups["particle (auto)"].values, mask.values)
    np.testing.assert_array_equal(sel.groups["substrate (auto)"].values, ~mask.values)
    assert "Your group(s) &#x27;particle&#x27; were left as they are" in sel.status.value
    # Auto may redo its own groups; after the user edits one it is theirs
    sel.auto_classify(window=(3.9, 4.1))
    np.testing.assert_array_equal(sel.groups["particle (auto)"].values, seccm.classify(ds, window=(3.9, 4.1)).values)
    assert sel.params["auto_groups"] == ["particle (auto)", "substrate (auto)"]


def test_auto_classify_with_nothing_to_split_leaves_every_group():
    ds, _ = seccm_scan(nx=8, ny=8, n_samples=200, seed=2, coverage=0.0)
    sel = PixelSelector(ds)
    sel.select([5, 6, 7, 8])
    sel.add_to_group("particle")
    sel.select([20, 21])
    sel.add_to_group("substrate")
    before = {k: v.copy() for k, v in sel.group_masks.items()}
    mask = sel.auto_classify()
    assert mask.attrs["split"] == 0
    for k, v in before.items():
        np.testing.assert_array_equal(sel.group_masks[k], v)
    text = sel.status.value
    assert "no particle/substrate split" in text and "Your groups were left as they are" in text
    for jargon in ("mask left all False", "min_pixels", "min_separation", "all False"):
        assert jargon not in text


def test_band_needs_three_curves_else_the_curves_are_drawn(scan):
    """The issue: a 2-pixel group's 95 % band (t with 1 degree of freedom) spanned 5 x the curves."""
    ds, _ = scan
    sel = PixelSelector(ds)
    landed = np.flatnonzero(ds.status.values == "landed")
    sel.select(landed[:2])
    sel.add_to_group("particle")
    names = sel.curve_view.means_source.data["name"]
    assert "particle (n=2: curves, too few for a band)" in names
    colours = sel.curve_view.group_curves_source.data["color"]
    assert colours.count(sel.colors["particle"]) == 2  # the two curves in the group's colour
    assert sel.colors["particle"] not in sel.curve_view.band_source.data["color"]
    st = seccm.stats.curve_stats(ds.current.values, landed[:2])
    assert np.isnan(st["low"]).all() and np.isfinite(st["mean"]).all()
    sel.select(landed[2:3])
    sel.add_to_group("particle")
    assert sel.colors["particle"] in sel.curve_view.band_source.data["color"]
    assert sel.colors["particle"] not in sel.curve_view.group_curves_source.data["color"]
    g = seccm.group_stats(ds, landed[:2])
    assert g.attrs["band"].startswith("none: 2 pixel(s)") and np.isnan(g.ci_low.values).all()


def test_colour_bars_have_at_most_three_significant_digits(sel, scan):
    from nbtools.widgets.map_view import colour_scale, map_plot, nice_ticks

    for key in ("charge", "peak_potential", "current_at", "onset", "peak_separation"):
        sel.show_map(key)
        bar = sel.map_view.colorbar
        if type(bar.ticker).__name__ == "FixedTicker":
            fmt = bar.formatter.format
            for t in bar.ticker.ticks:
                label = fmt % t
                assert len(label.lstrip("-").replace(".", "").lstrip("0")) <= 3, (key, label)
    ticks, labels = nice_ticks(3.987, 4.061)
    assert labels[0] == "3.99" and labels[-1] == "4.06" and all(len(x) == 4 for x in labels)
    cs = colour_scale(np.linspace(4.0102, 4.0161, 30), "V", name="peak potential")
    assert cs["title"] == "peak potential − 4.01 V / mV" and all(len(s) <= 3 for s in cs["labels"])
    q = seccm.charge(scan[0])
    f = map_plot(q.rename("Q"), title="Q / C")  # as the fit panel titles its maps
    bar = f.right[0]
    assert f.title.text == "Q / fC" or f.title.text == "Q / pC"
    assert f.title.text.endswith(bar.title)


def test_auto_classify_without_any_landed_landing_says_what_to_do():
    rng = np.random.default_rng(0)
    E = np.r_[np.linspace(0, 1, 100), np.linspace(1, 0, 100)]
    ds = seccm.from_arrays(1e-13 * rng.standard_normal((16, 200)), E, grid=(4, 4), dt=0.01)
    assert (ds.status.values == "no_contact").all()
    sel = PixelSelector(ds)
    assert sel.auto_classify() is None
    assert "no landing is labelled landed" in sel.status.value and "include_failed" not in sel.status.value
