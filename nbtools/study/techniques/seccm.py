"""SECCM: one scan -> its map, landing quality, particle mask, per-pixel fits and particles.

The pixels table has one row per landing (position, quality label, the map's
value, the particle it belongs to, the fitted parameters); the particles
table one row per connected region (8-neighbours, as
:func:`nbtools.seccm.classify` counts them) of the particle mask: its area
and equivalent radius, the map summed (a charge map: the particle's charge
and capacity) and its median, and each fitted parameter as the
inverse-variance weighted mean of the region's fitted pixels with its
standard error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import Outcome, reader_options

__all__ = ["ENTITY", "ENTITY_UNITS", "analyse", "as_analysis", "particles"]

ENTITY = "particles"
ENTITY_UNITS = {"area": "m2", "radius": "m", "x": "m", "y": "m", "charge": "C", "capacity_Ah": "Ah"}


def as_analysis(recipe):
    """``(AnalysisRecipe, fit?)``: a map recipe alone runs its map and the default particle mask, no fits."""
    from ...seccm import AnalysisRecipe

    if isinstance(recipe, AnalysisRecipe):
        return recipe, True
    return AnalysisRecipe(map=recipe), False


def analyse(unit, recipe, settings) -> Outcome:
    """Map, classify and fit one scan with ``recipe`` (an AnalysisRecipe or a MapRecipe)."""
    from ...io import load_scan
    from ...seccm import classify, fit_pixels, make_map

    ds = load_scan(unit.path, **reader_options(unit.path, settings.get("options"), "scan"))
    rec, do_fit = as_analysis(recipe)
    m = make_map(ds, rec.map)
    mask = classify(ds, rec.classify)
    fits = fit_pixels(ds, rec.fit) if do_fit else None
    pixels = pixel_table(ds, m, mask, fits)
    parts = particles(ds, m, mask, fits, pixels)
    status = pd.Series(ds["status"].values).value_counts()
    row = dict(format=ds.attrs.get("format", ""), n_pixels=int(ds.sizes["pixel"]),
               n_landed=int(status.get("landed", 0)), n_particles=len(parts),
               particle_pixels=int(pixels["particle"].gt(0).sum()), split=int(mask.attrs.get("split", 0)),
               threshold=float(mask.attrs.get("threshold", np.nan)), separation=float(mask.attrs.get("separation",
                                                                                                    np.nan)),
               map=rec.map.map, map_unit=str(m.attrs.get("units", "")),
               map_median=float(np.nanmedian(m.values)) if np.isfinite(m.values).any() else np.nan,
               status_counts=", ".join(f"{k}: {v}" for k, v in status.items()))
    if fits is not None:
        row.update(n_fitted=int(fits.attrs["n_fitted"]), n_fit_failed=int(fits.attrs["n_failed"]))
    units = {"x": "m", "y": "m", m.name or "map": str(m.attrs.get("units", ""))}
    if fits is not None:
        units.update(_fit_units(fits))
    fit_units = _fit_units(fits) if fits is not None else {}
    map_unit = {"map_median": str(m.attrs.get("units", ""))}
    tables = {"pixels": (pixels, units), ENTITY: (parts, {**ENTITY_UNITS, **fit_units, **map_unit})}
    return Outcome(row, tables, rec)


def _fit_units(fits) -> dict:
    return {name: da.attrs["units"] for name, da in fits.data_vars.items() if da.attrs.get("units")}


def _fit_names(fits) -> list:
    if fits is None:
        return []
    return [k for k in fits.data_vars if f"{k}_stderr" in fits.data_vars]


def pixel_table(ds, m, mask, fits) -> pd.DataFrame:
    """One row per landing: grid position, status, the map's value, particle number (0: substrate), fits."""
    from scipy import ndimage

    from ...seccm import from_grid

    labels, _ = ndimage.label(mask.values.astype(bool), structure=np.ones((3, 3), int))
    iy, ix = ds["iy"].values, ds["ix"].values
    df = pd.DataFrame({"pixel": ds["pixel"].values, "ix": ix, "iy": iy, "x": ds["x"].values, "y": ds["y"].values,
                       "status": ds["status"].values.astype(str)})
    df[m.name or "map"] = from_grid(m, ds).values
    df["particle"] = labels[iy, ix]
    if fits is not None:
        for k in _fit_names(fits):
            df[k] = from_grid(fits[k], ds).values
            df[f"{k}_stderr"] = from_grid(fits[f"{k}_stderr"], ds).values
        df["fit_status"] = fits["fit_status"].values.astype(str)
    return df


def _weighted(values, errors):
    """Inverse-variance weighted mean and its standard error (the median and NaN without errors)."""
    ok = np.isfinite(values) & np.isfinite(errors) & (errors > 0)
    if ok.any():
        w = 1.0 / errors[ok] ** 2
        return float(np.sum(w * values[ok]) / np.sum(w)), float(1.0 / np.sqrt(np.sum(w)))
    fin = np.isfinite(values)
    return (float(np.median(values[fin])), np.nan) if fin.any() else (np.nan, np.nan)


def particles(ds, m, mask, fits, pixels) -> pd.DataFrame:
    """One row per particle (connected region of the mask) with its size, activity and fitted values."""
    gx, gy = np.asarray(ds.attrs.get("grid_x", [])), np.asarray(ds.attrs.get("grid_y", []))
    dx = float(np.median(np.diff(gx))) if gx.size > 1 else np.nan
    dy = float(np.median(np.diff(gy))) if gy.size > 1 else np.nan
    ny, nx = mask.shape
    col = m.name or "map"
    charge = m.attrs.get("units") == "C"
    rows = []
    for label, px in pixels[pixels["particle"] > 0].groupby("particle"):
        v = px[col].to_numpy(float)
        n = len(px)
        area = n * abs(dx * dy)
        row = {"particle": int(label), "n_pixels": n, "area": area, "radius": float(np.sqrt(area / np.pi)),
               "x": float(px["x"].mean()), "y": float(px["y"].mean()),
               "map_median": float(np.nanmedian(v)) if np.isfinite(v).any() else np.nan,
               "n_landed": int((px["status"] == "landed").sum()),
               "touches_edge": bool(px["ix"].isin([0, nx - 1]).any() or px["iy"].isin([0, ny - 1]).any())}
        if charge:
            row["charge"] = float(np.nansum(v))
            row["capacity_Ah"] = row["charge"] / 3600.0
        if fits is not None:
            row["n_fitted"] = int((px["fit_status"] == "ok").sum())
            for k in _fit_names(fits):
                row[k], row[f"{k}_stderr"] = _weighted(px[k].to_numpy(float), px[f"{k}_stderr"].to_numpy(float))
        rows.append(row)
    cols = ["particle", "n_pixels", "area", "radius", "x", "y", "map_median", "n_landed", "touches_edge"]
    return pd.DataFrame(rows, columns=None if rows else cols)
