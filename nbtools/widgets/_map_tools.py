"""Map tools of the SECCM pixel selector: the map registry, display scaling, small map plots, export.

Used by :class:`nbtools.widgets.PixelSelector`; usable on their own (the
numerics are calls into :mod:`nbtools.seccm`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError, ParameterError
from ..plotting import current_display_unit
from ._curve_stats import curve_stats

__all__ = ["MAPS", "STATUS_COLORS", "GROUP_COLORS", "display_scale", "robust_limits", "map_plot", "export_groups"]

GROUP_COLORS = ["#e8175d", "#00b4ff", "#ff9f1c", "#7fff00", "#c77dff", "#8c564b", "#ff66cc", "#17becf"]
STATUS_COLORS = {"landed": "#4daf4a", "failed_landing": "#e41a1c", "no_contact": "#377eb8",
                 "saturated": "#984ea3", "noisy": "#ff7f00", "empty": "#999999"}


# --------------------------------------------------------------- maps
def _peak_field(direction, field):
    def f(ds, opts):
        from ..seccm import peak

        return peak(ds, direction)[field]
    return f


def _charge(ds, opts):
    from ..seccm import charge

    return charge(ds)


def _current_at(ds, opts):
    from ..seccm import current_at

    return current_at(ds, opts["potential"], branch="anodic")


def _onset(ds, opts):
    from ..seccm import onset

    return onset(ds, opts["onset_current"])


def _separation(ds, opts):
    from ..seccm import peak_separation

    return peak_separation(ds)


def _status(ds, opts):
    from ..seccm import to_grid
    from ..seccm.dataset import STATUS_VALUES

    code = np.array([STATUS_VALUES.index(s) if s in STATUS_VALUES else len(STATUS_VALUES) - 1
                     for s in ds.status.values], dtype=np.float64)
    da = xr.DataArray(code, dims="pixel", coords={"ix": ds.ix, "iy": ds.iy}, name="status",
                      attrs={"units": "", "long_name": "landing quality"})
    return to_grid(da, ds)


#: Maps the chooser offers: key -> (label, function(ds, options) -> DataArray (y, x)).
MAPS = {
    "charge": ("Charge (anodic sweep)", _charge),
    "current_at": ("Current at E (anodic sweep)", _current_at),
    "peak_potential_anodic": ("Anodic peak potential", _peak_field("anodic", "potential")),
    "peak_current_anodic": ("Anodic peak current", _peak_field("anodic", "current")),
    "peak_potential_cathodic": ("Cathodic peak potential", _peak_field("cathodic", "potential")),
    "peak_current_cathodic": ("Cathodic peak current", _peak_field("cathodic", "current")),
    "onset": ("Onset potential (current threshold)", _onset),
    "peak_separation": ("Peak separation", _separation),
    "status": ("Landing quality (status)", _status),
}
_ALIASES = {"current": "current_at", "peak": "peak_potential_anodic", "quality": "status",
            "peak_potential": "peak_potential_anodic", "peak_current": "peak_current_anodic"}

_PREFIX = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, "")]


def display_scale(unit, values):
    """(label, factor) to show values in ``unit`` with a readable SI prefix."""
    v = np.asarray(values, dtype=np.float64)
    v = np.abs(v[np.isfinite(v)])
    big = float(np.percentile(v, 98)) if v.size else 0.0
    if unit == "A":
        return current_display_unit(big)
    if unit == "V":
        return ("mV", 1e3) if 0 < big < 0.1 else ("V", 1.0)
    if unit in ("C", "m", "s", "F"):
        if big == 0:
            return unit, 1.0
        for base, p in _PREFIX:
            if big < base * 1000:
                return p + unit, 1.0 / base
        return unit, 1.0
    return unit or "", 1.0


def robust_limits(values, low=2.0, high=98.0):
    """Colour limits: the ``low``-``high`` percentiles of the finite values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(v, [low, high])
    if not hi > lo:
        lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        lo, hi = lo - 0.5 * (abs(lo) or 1.0), hi + 0.5 * (abs(hi) or 1.0)
    return float(lo), float(hi)


def map_plot(map2d, *, title=None, width=300, palette=None):
    """A small Bokeh figure of a map (y, x): robust colour limits, units on the colour bar, µm axes.

    NaN (failed or unfitted pixels) are grey. Returns a ``bokeh.plotting.figure``
    (show it with :func:`nbtools.widgets.bokeh_widget`).
    """
    from bokeh.models import ColorBar, HoverTool, LinearColorMapper
    from bokeh.palettes import Viridis256
    from bokeh.plotting import figure

    if not isinstance(map2d, xr.DataArray) or map2d.dims[:2] != ("y", "x"):
        raise ParameterError("map_plot: expected a DataArray with dims ('y', 'x')")
    vals = np.asarray(map2d.values, dtype=np.float64)
    x = np.asarray(map2d.x.values, dtype=np.float64) * 1e6
    y = np.asarray(map2d.y.values, dtype=np.float64) * 1e6
    dx = float(np.min(np.diff(x))) if x.size > 1 else 1.0
    dy = float(np.min(np.diff(y))) if y.size > 1 else dx
    unit = str(map2d.attrs.get("units", ""))
    label, scale = display_scale(unit, vals)
    lo, hi = robust_limits(vals * scale)
    mapper = LinearColorMapper(palette=palette or Viridis256, low=lo, high=hi, nan_color="#d0d0d0")
    x0, y0, w, h = x[0] - dx / 2, y[0] - dy / 2, x[-1] - x[0] + dx, y[-1] - y[0] + dy
    f = figure(frame_width=width, frame_height=int(np.clip(width * h / w, 80, 2 * width)),
               x_range=(x0, x0 + w), y_range=(y0, y0 + h), tools="pan,wheel_zoom,reset,save",
               x_axis_label="x / µm", y_axis_label="y / µm", title=title or str(map2d.attrs.get("long_name", map2d.name)),
               output_backend="canvas")
    f.toolbar.logo = None
    f.grid.visible = False
    r = f.image(image=[vals * scale], x=x0, y=y0, dw=w, dh=h, color_mapper=mapper)
    f.add_tools(HoverTool(renderers=[r], tooltips=[("x, y", "$x{0.0}, $y{0.0} µm"), ("value", "@image")]))
    f.add_layout(ColorBar(color_mapper=mapper, title=label, width=10), "right")
    return f


# --------------------------------------------------------------- export
def _free_path(path: Path) -> Path:
    """``path`` or, if it exists, ``stem_2.ext``, ``stem_3.ext`` ...: never overwrite."""
    if not path.exists():
        return path
    k = 2
    while True:
        p = path.with_name(f"{path.stem}_{k}{path.suffix}")
        if not p.exists():
            return p
        k += 1


def _safe_name(name):
    return re.sub(r"\W+", "_", str(name)).strip("_") or "group"


def export_groups(ds, groups, folder, *, prefix="seccm", include_failed=False, formats=("nc", "csv")):
    """Write group masks and mean curves of an SECCM scan into a folder.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    groups : dict
        Group name -> boolean mask per pixel (array (pixel,)) or map (y, x).
    folder : str or pathlib.Path
        Existing folder. Files are never overwritten: an existing name gets a
        suffix ``_2``, ``_3`` ...
    prefix : str
        Start of the file names.
    include_failed : bool
        Use pixels whose status is not 'landed' in the mean curves.
    formats : sequence of {'nc', 'csv'}
        Masks as NetCDF (one int8 map per group) and/or CSV (one row per
        pixel). The mean curves are always written as CSV.

    Returns
    -------
    list of pathlib.Path
        The files written: masks (.nc, .csv) and ``<prefix>_mean_curves.csv``
        (potential, and per group mean current, 95 % CI and n).
    """
    from ..seccm import pixel_mask, to_grid

    folder = Path(folder).expanduser()
    if not str(folder).strip() or not folder.is_dir():
        raise ParameterError(f"export folder {str(folder)!r} does not exist; create it or choose another one")
    bad = set(formats) - {"nc", "csv"}
    if bad:
        raise ParameterError(f"formats={formats!r}: expected 'nc' and/or 'csv'")
    masks = {name: pixel_mask(ds, m) for name, m in groups.items()}
    if not masks:
        raise DataError("no groups to export: add pixels to a group first")
    prefix = _safe_name(prefix)
    written = []
    if "nc" in formats:
        data = {}
        for name, m in masks.items():
            da = to_grid(xr.DataArray(m.astype(np.int8), dims="pixel", coords={"ix": ds.ix, "iy": ds.iy}), ds,
                         fill=0)
            data[_safe_name(name)] = da.assign_attrs(group=str(name), long_name=f"pixel in group {name!r} (1/0)")
        out = xr.Dataset(data, attrs={"source": str(ds.attrs.get("source", "")), "created_by": "nbtools PixelSelector"})
        p = _free_path(folder / f"{prefix}_groups.nc")
        out.to_netcdf(p, engine="h5netcdf")
        written.append(p)
    if "csv" in formats:
        df = pd.DataFrame({"pixel": ds.pixel.values, "ix": ds.ix.values, "iy": ds.iy.values,
                           "x_m": ds.x.values, "y_m": ds.y.values, "status": ds.status.values})
        for name, m in masks.items():
            df[str(name)] = m.astype(int)
        p = _free_path(folder / f"{prefix}_groups.csv")
        df.to_csv(p, index=False)
        written.append(p)
    good = (ds.status.values != "empty") if include_failed else (ds.status.values == "landed")
    cur = np.asarray(ds.current.values)
    pot = np.asarray(ds.potential.values)
    cols = {}
    for name, m in masks.items():
        rows = np.flatnonzero(m & good)
        if rows.size == 0:
            continue
        st = curve_stats(cur, rows)
        if "potential_V" not in cols:
            cols["potential_V"] = pot if pot.ndim == 1 else curve_stats(pot, rows)["mean"]
        cols[f"{name} mean_A"] = st["mean"]
        cols[f"{name} ci_low_A"] = st["low"]
        cols[f"{name} ci_high_A"] = st["high"]
        cols[f"{name} n"] = st["n"]
    if cols:
        p = _free_path(folder / f"{prefix}_mean_curves.csv")
        pd.DataFrame(cols).to_csv(p, index_label="sample")
        written.append(p)
    return written
