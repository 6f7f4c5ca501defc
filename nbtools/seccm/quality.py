"""Landing-quality labels from scale-free statistics, each with its reason; the user's own marks.

Labels, in order of precedence:

``'empty'``
    no finite current at all.
``'saturated'``
    at least ``min_saturated`` samples sit exactly on a current rail (the
    amplifier's limit: ``rail=`` or ``ds.attrs['current_range']``, else the
    extreme value of the whole scan when several samples share it).
``'no_contact'``
    the curve shows no sign of contact: neither the sweep signature (a
    double-layer current that flips sign with the sweep direction) nor any
    shape (peaks, waves) reaches ``min_evidence`` standard deviations of the
    curve's own noise, integrated over the whole curve
    (:mod:`nbtools.seccm.contact`). Where the scan gives the Z position of
    each landing and the end of the Z travel (``z_limit``), the reason says
    when an approach ran out of travel.
``'failed_landing'``
    contact over part of the curve only: a start (contact made late) or an
    end (meniscus lost) of at least ``min_dead_fraction`` of the curve reads
    the no-contact current within noise, while the rest shows contact.
``'noisy'``
    the white noise exceeds ``noisy_factor`` times the scan's median noise.
``'landed'``
    everything else.

Nothing depends on the current's scale: multiplying every current (and the
``offset``/``rail`` given in A) by any factor gives the same labels. Each
pixel's label comes with a reason in words (``status_reason``).

The user's marks (:func:`mark_pixels`) take precedence over the statistics:
they are kept in ``status_override`` and survive relabelling
(:func:`label_landings`), so classify, maps and group statistics use them.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ParameterError
from .contact import contact_statistics, curve_sums, noise_level
from .layout import STATUS_VALUES, format_si, validate
from .recipe import QualityRecipe

__all__ = ["quality", "label_landings", "mark_pixels", "noise_level", "status_texts", "STATUS_TEXT"]

#: one line per label: what it means for a user
STATUS_TEXT = {
    "landed": "a good landing: used in statistics",
    "failed_landing": "contact over part of the curve only (meniscus lost, or contact made late)",
    "no_contact": "no sign of contact: the current is noise only",
    "saturated": "the current hit the amplifier's limit",
    "noisy": "noise far above the rest of the scan",
    "empty": "no data",
}


def _rails(c, rail, min_saturated):
    """(hi, lo, rail or None): the current limits; without a given rail the scan's extremes."""
    if rail is not None:
        rail = abs(float(rail))  # attrs['current_range'] may be signed
        return rail * (1 - 1e-9), -rail * (1 - 1e-9), rail
    with np.errstate(invalid="ignore"):
        hi, lo = float(np.nanmax(c)), float(np.nanmin(c))
    return hi - 1e-9 * abs(hi), lo + 1e-9 * abs(lo), None


def _z_at_limit(ds, z_limit):
    """Per pixel: did the approach end at the Z limit (False where unknown)."""
    n = ds.sizes["pixel"]
    if z_limit is None or "z" not in ds:
        return np.zeros(n, bool)
    z = np.asarray(ds["z"].values, dtype=np.float64)
    med = np.nanmedian(z)
    direction = np.sign(z_limit - med) or 1.0
    tol = 1e-3 * max(abs(z_limit - med), 1e-9)
    with np.errstate(invalid="ignore"):
        return (z - z_limit) * direction >= -tol


def _reasons(status, st, noise, ref, sat_n, rail_text, z_hit, z_limit, need):
    """The reason of each label, in words (3 significant digits)."""
    out = np.empty(status.size, dtype=object)
    ev, sw, sh = st["evidence"], np.abs(st["sweep_z"]), st["shape_z"]
    for i, s in enumerate(status):
        evid = f"contact evidence {ev[i]:.3g} ({need:.3g} needed; sweep sign flip {sw[i]:.3g}, shape {sh[i]:.3g})"
        if s == "empty":
            out[i] = "empty: no current recorded"
        elif s == "saturated":
            out[i] = f"saturated: {int(sat_n[i])} samples at the amplifier's limit ({rail_text})"
        elif s == "no_contact":
            zt = (f"the approach ended at the end of the Z travel ({format_si(z_limit, 'm')}) and "
                  if z_hit[i] else "")
            out[i] = f"no contact: {zt}the current is noise only: {evid}"
        elif s == "failed_landing":
            a, b = st["dead_start"][i], st["dead_end"][i]
            parts = []
            if a > 0:
                parts.append(f"the first {a * 100:.0f} % of the curve (contact made late)")
            if b > 0:
                parts.append(f"the last {b * 100:.0f} % (meniscus lost)")
            out[i] = f"failed landing: no current in {' and in '.join(parts)}; {evid}"
        elif s == "noisy":
            out[i] = (f"noisy: noise {format_si(noise[i], 'A')}, {noise[i] / ref:.3g} x the scan's median "
                      f"({format_si(ref, 'A')}); {evid}")
        else:
            out[i] = f"landed: {evid}"
    return out.astype(str)


def quality(ds, recipe=None, /, **params):
    """Landing-quality labels, their reasons and the statistics behind them, for every pixel.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset (:mod:`nbtools.seccm` layout). ``time`` gives the sweep
        rate (else the sample index); ``z`` (pixel, m) is used with ``z_limit``.
    recipe : QualityRecipe, dict or JSON, optional
        The settings (:class:`~nbtools.seccm.recipe.QualityRecipe`); keyword
        ``params`` override them:
    offset : float, optional
        Current (A) read when the pipette is not in contact. Default
        ``ds.attrs['current_offset']``, else the median current of the
        pixels without contact (at least 3), else 0.
    rail : float, optional
        Absolute current limit (A) of the amplifier. Default
        ``ds.attrs['current_range']`` if present, else estimated.
    min_saturated : int
        Samples on the rail that make a pixel ``'saturated'`` (3).
    n_windows : int
        Parts each curve is cut into for its shape and for stretches without
        current (20).
    min_evidence : float
        Evidence of contact needed, in standard deviations of the curve's own
        noise (5): below it a landing is ``'no_contact'``.
    min_dead_fraction : float
        Shortest start or end of the curve without current that makes a
        ``'failed_landing'`` (0.2 of the curve; 1 turns this off, for
        programmes with long rests at zero current).
    noisy_factor : float
        Noise above this multiple of the scan's median noise makes ``'noisy'`` (3).
    z_limit : float, optional
        Z position (m) where the approach runs out of travel (default
        ``ds.attrs['z_limit']``): named in the reason of no-contact pixels
        whose approach ended there.
    engine : {'numba', 'numpy'}
        Compiled kernel (default) or the NumPy reference.

    Returns
    -------
    xarray.Dataset
        Per pixel: ``status`` (str), ``reason`` (str), ``noise`` (A, white),
        ``evidence``, ``sweep_evidence`` (signed: positive for a capacitive
        current), ``shape_evidence`` (standard deviations), ``dead_start``,
        ``dead_end`` (fractions of the curve without current),
        ``saturated_samples``; attrs: ``offset`` (A) and ``offset_source``,
        ``noise_reference`` (A), ``rail``, ``min_evidence``, ``recipe``.

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools.seccm import from_arrays, quality
    >>> E = np.r_[np.linspace(0, 1, 200), np.linspace(1, 0, 200)]
    >>> rng = np.random.default_rng(0)
    >>> cur = 0.3 * rng.standard_normal((4, 400))   # noise, in any unit
    >>> cur[:2] += 0.2 * np.sign(np.gradient(E))     # two landings charge a double layer
    >>> ds = from_arrays(cur, E, grid=(2, 2), dt=0.01, label=False)
    >>> quality(ds).status.values.tolist()
    ['landed', 'landed', 'no_contact', 'no_contact']
    """
    r = QualityRecipe.coerce(recipe, **params)
    validate(ds)
    c = ds.current.values
    n_s = ds.n_samples.values.astype(np.int64)
    rail = r.rail if r.rail is not None else ds.attrs.get("current_range")
    hi, lo, rail = _rails(c, rail, r.min_saturated)
    pot = np.asarray(ds.potential.values, dtype=np.float64)
    tim = np.asarray(ds.time.values, dtype=np.float64) if "time" in ds else None
    pot = pot[None, :] if pot.ndim == 1 else pot
    tim = tim[None, :] if tim is not None and tim.ndim == 1 else tim
    sums = curve_sums(c, pot, tim, n_s, r.n_windows, hi=hi, lo=lo, engine=r.engine)
    offset = r.offset if r.offset is not None else ds.attrs.get("current_offset")
    min_dead = int(np.ceil(r.min_dead_fraction * r.n_windows - 1e-9))
    st = contact_statistics(sums, offset=None if offset is None else float(offset), min_evidence=r.min_evidence,
                            min_dead_windows=min_dead)
    if offset is not None:
        st["offset_source"] = "given" if r.offset is not None else "the file's no-contact current"
    noise, sat_n = sums["noise"], sums["sat"]
    has = n_s > 0
    ref = float(np.nanmedian(noise[has])) if has.any() else np.nan
    if rail is None and sat_n.sum() < r.min_saturated:  # a single extreme is no rail
        sat_n = np.zeros_like(sat_n)
    z_limit = r.z_limit if r.z_limit is not None else ds.attrs.get("z_limit")
    z_hit = _z_at_limit(ds, None if z_limit is None else float(z_limit))

    status = np.full(n_s.size, "landed", dtype="<U14")
    with np.errstate(invalid="ignore"):
        status[noise > r.noisy_factor * ref] = "noisy"
    status[(st["dead_start"] > 0) | (st["dead_end"] > 0)] = "failed_landing"
    status[~st["contact"]] = "no_contact"
    status[sat_n >= r.min_saturated] = "saturated"
    status[~has] = "empty"
    rail_text = f"±{format_si(rail if rail is not None else max(abs(hi), abs(lo)), 'A')}"
    reason = _reasons(status, st, noise, ref, sat_n, rail_text, z_hit, z_limit, r.min_evidence)

    pc = {"pixel": ds.pixel, "x": ds.x, "y": ds.y, "ix": ds.ix, "iy": ds.iy}
    dims = "pixel"
    return xr.Dataset(
        {
            "status": (dims, status, {"long_name": "landing quality"}),
            "reason": (dims, reason, {"long_name": "why the pixel has its label"}),
            "noise": (dims, noise, {"units": "A", "long_name": "white-noise level"}),
            "evidence": (dims, st["evidence"], {"long_name": "evidence of contact (noise standard deviations)"}),
            "sweep_evidence": (dims, st["sweep_z"], {"long_name": "current flipping with the sweep direction "
                                                     "(noise standard deviations, + capacitive)"}),
            "shape_evidence": (dims, st["shape_z"], {"long_name": "shape of the curve beyond offset and drift "
                                                     "(noise standard deviations)"}),
            "dead_start": (dims, st["dead_start"], {"long_name": "start of the curve without current (fraction)"}),
            "dead_end": (dims, st["dead_end"], {"long_name": "end of the curve without current (fraction)"}),
            "saturated_samples": (dims, sat_n, {"long_name": "samples on the current rail"}),
        },
        coords=pc,
        attrs={"noise_reference": ref, "offset": st["offset"], "offset_source": st["offset_source"],
               "rail": float(rail) if rail is not None else np.nan, "min_evidence": r.min_evidence,
               "n_windows": int(r.n_windows), "noisy_factor": r.noisy_factor, "recipe": r},
    )


def _overrides(ds):
    """The user's marks of ``ds`` (str per pixel, '' where none)."""
    if "status_override" in ds:
        return np.asarray(ds.status_override.values).astype("<U14")
    return np.full(ds.sizes["pixel"], "", dtype="<U14")


def _with_status(ds, auto, reason, override, attrs, marks=False):
    """A copy of ``ds`` whose ``status`` is the user's mark where there is one, else ``auto``."""
    out = ds.copy()
    status = np.where(override != "", override, auto).astype("<U14")
    out["status"] = ("pixel", status, attrs)
    if reason is not None:
        out["status_reason"] = ("pixel", reason, {"long_name": "why the statistics gave the pixel its label"})
    if marks or (override != "").any() or "status_override" in ds:
        out["status_auto"] = ("pixel", np.asarray(auto).astype("<U14"), {"long_name": "label from the statistics"})
        out["status_override"] = ("pixel", override, {"long_name": "label marked by the user ('' none)"})
    return out


def label_landings(ds, recipe=None, /, **params):
    """Return a copy of ``ds`` with ``status``, ``status_reason`` and ``noise`` set by :func:`quality`.

    The input is not modified. ``recipe`` and ``params`` are those of
    :func:`quality`. The user's marks (``status_override``, from
    :func:`mark_pixels`) are kept and take precedence. The recipe is kept
    as JSON text in ``status.attrs['recipe']`` (text, so that
    :func:`nbtools.seccm.save` writes it to NetCDF):
    ``label_landings(raw, ds.status.attrs['recipe'])`` labels another scan
    the same way.
    """
    q = quality(ds, recipe, **params)
    st = q.status.values.copy()
    reason = q.reason.values.astype(object)
    # a status set by the reader for a reason the data cannot show is kept
    old = ds.status_auto.values if "status_auto" in ds else ds.status.values
    keep = np.isin(old, ["failed_landing", "empty"]) & (st == "landed")
    st[keep] = old[keep]
    reason[keep] = [f"{s.replace('_', ' ')}: so labelled by the file's reader" for s in old[keep]]
    attrs = dict(ds.status.attrs, recipe=q.attrs["recipe"].to_json(indent=None).strip())
    out = _with_status(ds, st, reason.astype(str), _overrides(ds), attrs)
    out["noise"] = ("pixel", q.noise.values, dict(q.noise.attrs))
    return out


def mark_pixels(ds, pixels, status):
    """Return a copy of ``ds`` with the user's label for some pixels (statistics keep their own in ``status_auto``).

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    pixels : array_like of int or bool
        Pixel indices, or a boolean mask (pixel,).
    status : str or None
        ``'landed'``, ``'failed_landing'``, ``'no_contact'``, ``'saturated'``
        or ``'noisy'``; None (or ``'auto'``) gives the pixels back to the
        statistics.

    Returns
    -------
    xarray.Dataset
        ``status`` (the user's mark where there is one), ``status_auto`` (the
        statistics' label) and ``status_override`` ('' where not marked).
        Classify, maps, fits and group statistics read ``status``, so they
        follow the marks; :func:`label_landings` keeps them.

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools.seccm import from_arrays, mark_pixels
    >>> ds = from_arrays(np.zeros((4, 20)), np.linspace(0, 1, 20), grid=(2, 2), dt=0.1, label=False)
    >>> mark_pixels(ds, [1], "failed_landing").status.values.tolist()
    ['landed', 'failed_landing', 'landed', 'landed']
    """
    validate(ds)
    allowed = [s for s in STATUS_VALUES if s != "empty"]
    if status == "auto":
        status = None
    if status is not None and status not in allowed:
        raise ParameterError(f"status={status!r}: mark pixels as one of {allowed}, or None to let the statistics "
                             "decide")
    n = ds.sizes["pixel"]
    p = np.asarray(pixels)
    idx = np.flatnonzero(p) if p.dtype.kind == "b" else p.astype(np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ParameterError(f"pixels must be within 0..{n - 1}, found {idx.min()}..{idx.max()}")
    override = _overrides(ds)
    auto = ds.status_auto.values if "status_auto" in ds else ds.status.values
    empty = np.asarray(auto)[idx] == "empty"
    if status is not None and empty.any():
        raise ParameterError(f"pixel(s) {idx[empty][:5].tolist()} have no data ('empty'): they cannot be marked")
    override[idx] = "" if status is None else status
    reason = ds.status_reason.values if "status_reason" in ds else None
    return _with_status(ds, np.asarray(auto).astype("<U14"), reason, override, dict(ds.status.attrs), marks=True)


def status_texts(ds):
    """The label and its reason for every pixel, in words (hover texts): list of str."""
    status = np.asarray(ds.status.values).astype(str)
    reason = (np.asarray(ds.status_reason.values).astype(str) if "status_reason" in ds
              else np.array([f"{s.replace('_', ' ')}: {STATUS_TEXT.get(s, '')}" for s in status]))
    if "status_override" not in ds:
        return reason.tolist()
    mark = np.asarray(ds.status_override.values).astype(str)
    return [f"{s.replace('_', ' ')}: marked by you (the statistics said: {why})" if m else why
            for s, m, why in zip(status, mark, reason)]
