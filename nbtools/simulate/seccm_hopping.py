"""An independent, realistic hopping-mode SECCM scan: sub-pA substrate, particles of a few pA, failed landings.

Written apart from :mod:`nbtools.simulate.seccm` (other particle shapes,
waveform, kinetics and noise) to test the analysis on data it was not tuned
on. What it models, per landing (one pixel):

- **waveform**: ``cycles`` cyclic sweeps ``e_low -> e_high -> e_low`` at
  ``scan_rate``, sampled every ``dt`` (the instrument records the mean
  current of each sample period);
- **particles** (LiMn2O4-like): blobs of a smoothed random field; two redox
  couples (formal potentials ``e0``), each a surface-confined couple with
  finite kinetics (rate constant ``k_s``, 1/s, log-normal between particles)
  and a Gaussian spread of formal potentials (``e0_spread``, V) that broadens
  the peaks; the anodic peak current of a landing at a particle's centre is
  ``peak_current`` (A, log-uniform between the two values, per particle),
  less at its edges;
- **carbon substrate**: double-layer charging only, ``C v (1 + 0.5 (E - E_mid))``
  with ``C v`` uniform in ``substrate_current`` (A) per landing, plus a
  small solvent-oxidation tail near ``e_high``; the particles also charge a
  double layer (``particle_dl_current``);
- **noise**: white (``noise`` rms, A), a little 1/f noise
  (``flicker`` rms, A), an amplifier offset (``offset``, A) and an ADC step
  (``adc_step``, A);
- **failed landings**: a fraction ``noise_only_fraction`` of the landings
  never touch the surface (offset and noise only); ``partial_fraction``
  lose the meniscus part-way or make contact late (offset and noise in that
  part).

Every current (signal, noise, offset, ADC step) is multiplied by ``scale``:
the same scan as a nA or fA instrument would record it.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["hopping_scan"]

F_RT = 96485.33212 / (8.314462618 * 298.15)
# Gauss-Hermite nodes and weights for a Gaussian spread of formal potentials (5 points)
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(5)
_GH_W = _GH_W / _GH_W.sum()


def _blobs(ny, nx, rng, coverage, corr_px):
    """Particle blobs: a smoothed random field above its (1 - coverage) quantile; activity 0.35..1 inside."""
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.standard_normal((ny, nx)), corr_px, mode="wrap")
    thr = np.quantile(field, 1 - coverage)
    inside = field > thr
    # activity rises from the edge to the centre of each blob (distance to the outside)
    dist = ndimage.distance_transform_edt(inside)
    lab, n = ndimage.label(inside)
    act = np.zeros((ny, nx))
    for k in range(1, n + 1):
        blob = lab == k
        act[blob] = 0.35 + 0.65 * np.sqrt(dist[blob] / dist[blob].max())
    return inside, act, lab


def _waveform(e_low, e_high, scan_rate, dt, cycles):
    """Potential at the sample mid-points and the sample times of ``cycles`` triangular sweeps."""
    period = 2 * (e_high - e_low) / scan_rate
    t = np.arange(int(round(cycles * period / dt))) * dt
    phase = (t % period) / period
    E = np.where(phase < 0.5, e_low + 2 * phase * (e_high - e_low), e_high - (2 * phase - 1) * (e_high - e_low))
    return t, E


def _couple_current(E_fine, dt_fine, e0, k_s, q):
    """Faradaic current (A) of surface-confined couples (pixel rows) on a fine potential grid.

    Exact update of the oxidised fraction over each fine step (first-order
    kinetics, Butler-Volmer with alpha = 0.5); starts at equilibrium.
    """
    n = len(q)
    i = np.zeros((n, E_fine.size))
    for x, w in zip(_GH_X, _GH_W):
        e0x = e0[:, None] + x  # (n, 1): formal potential of this slice of the distribution
        theta = 1.0 / (1.0 + np.exp(-F_RT * (E_fine[0] - e0x[:, 0])))
        for j in range(1, E_fine.size):
            eta = 0.5 * (E_fine[j] + E_fine[j - 1]) - e0x[:, 0]
            kf, kb = k_s * np.exp(0.5 * F_RT * eta), k_s * np.exp(-0.5 * F_RT * eta)
            s = kf + kb
            new = kf / s + (theta - kf / s) * np.exp(-s * dt_fine)
            i[:, j] += w * q * (new - theta) / dt_fine
            theta = new
    return i


def _flicker(rng, shape, rms):
    """1/f noise of the given rms along the last axis (spectral shaping of white noise)."""
    if rms <= 0:
        return np.zeros(shape)
    m = shape[-1]
    f = np.fft.rfftfreq(m)
    f[0] = f[1]
    spec = np.fft.rfft(rng.standard_normal(shape), axis=-1) / np.sqrt(f)
    x = np.fft.irfft(spec, n=m, axis=-1)
    x -= x.mean(axis=-1, keepdims=True)
    return x * (rms / x.std())


def hopping_scan(
    nx=36,
    ny=32,
    *,
    seed=0,
    scale=1.0,
    pitch=1.5e-6,
    coverage=0.3,
    corr_px=2.2,
    e_low=3.55,
    e_high=4.35,
    scan_rate=1.0,
    dt=2e-3,
    cycles=1,
    e0=(4.02, 4.14),
    e0_spread=0.012,
    k_s=30.0,
    peak_current=(1.5e-12, 5e-12),
    substrate_current=(0.15e-12, 0.75e-12),
    particle_dl_current=(0.3e-12, 1.0e-12),
    noise=0.3e-12,
    flicker=0.03e-12,
    offset=0.04e-12,
    adc_step=0.005e-12,
    noise_only_fraction=0.04,
    partial_fraction=0.0,
    label=True,
):
    """Simulate a hopping-mode SECCM scan with realistic, small currents (see the module docstring).

    Parameters
    ----------
    nx, ny : int
        Landings along x and y (raster order, row by row).
    seed : int
        Seed of every random choice.
    scale : float
        Every current is multiplied by this (1: pA currents as described).
    pitch : float
        Distance between landings (m).
    coverage : float
        Fraction of the area on particles.
    corr_px : float
        Size of the particle blobs (correlation length of the field, pixels).
    e_low, e_high, scan_rate, dt, cycles
        The waveform (V, V, V/s, s per sample, number of cycles).
    e0 : sequence of float
        Formal potentials (V) of the particle's couples.
    e0_spread : float
        Standard deviation (V) of the formal potentials within a landing.
    k_s : float
        Median rate constant (1/s); log-normal (sd 0.3) between particles.
    peak_current : (float, float)
        Range (A) of the anodic peak current of the first couple at a
        particle's centre (log-uniform per particle).
    substrate_current, particle_dl_current : (float, float)
        Range (A) of the double-layer charging current ``C v`` of substrate
        and particle landings (uniform per landing).
    noise, flicker, offset, adc_step : float
        White-noise rms, 1/f-noise rms, amplifier offset and ADC step (A).
    noise_only_fraction : float
        Landings that never touch (offset and noise only).
    partial_fraction : float
        Landings whose meniscus is lost part-way or forms late.
    label : bool
        Run the landing-quality labels.

    Returns
    -------
    ds : xarray.Dataset
        The scan (:mod:`nbtools.seccm` layout; potential and time 1-D).
    truth : dict
        ``particle`` (bool (ny, nx): activity >= 0.35), ``activity`` (ny, nx),
        ``status`` (per pixel: 'landed', 'no_contact' for the noise-only
        landings, 'failed_landing' for the partial ones), ``noise_only``
        (bool per pixel), ``dead`` ((start, stop) fraction of the curve without
        contact, per pixel, NaN when none), ``substrate_current`` (A per
        pixel, ``C v``), ``peak_current`` (A per pixel, 0 off particles),
        ``scale``.
    """
    from ..seccm.dataset import from_arrays

    if nx < 2 or ny < 2:
        raise ParameterError(f"nx={nx}, ny={ny}: expected at least 2 landings along each axis")
    if not 0 <= noise_only_fraction + partial_fraction <= 0.5:
        raise ParameterError(f"noise_only_fraction + partial_fraction = {noise_only_fraction + partial_fraction}: "
                             "expected 0 to 0.5")
    if not scale > 0:
        raise ParameterError(f"scale={scale!r}: expected a positive factor")
    rng = np.random.default_rng(seed)
    n = nx * ny
    iy, ix = np.divmod(np.arange(n), nx)
    inside, act, lab = _blobs(ny, nx, rng, coverage, corr_px)
    a = act[iy, ix]
    on_p = inside[iy, ix]

    t, E = _waveform(e_low, e_high, scan_rate, dt, cycles)
    m = t.size
    sub = 8  # fine steps per sample: the recorded current is the mean over each sample period
    t_f = (np.arange(m * sub) + 0.5) * (dt / sub)
    period = 2 * (e_high - e_low) / scan_rate
    ph = (t_f % period) / period
    E_f = np.where(ph < 0.5, e_low + 2 * ph * (e_high - e_low), e_high - (2 * ph - 1) * (e_high - e_low))

    # particles: peak current -> charge per couple (reversible peak i_p = Q F v / 4 RT, broadened by the spread)
    n_part = lab.max()
    ip_part = np.exp(rng.uniform(*np.log(peak_current), size=n_part + 1))
    ks_part = k_s * rng.lognormal(0.0, 0.3, size=n_part + 1)
    ip = np.where(on_p, ip_part[lab[iy, ix]] * a, 0.0)
    q = ip * 4 / (F_RT * scan_rate) * (1 + 1.5 * e0_spread * F_RT)  # spread lowers the peak: give it back
    i_far = np.zeros((n, m))
    rows = np.flatnonzero(on_p)
    if rows.size:  # the current per unit charge depends on the particle only (its k_s): one curve per particle
        parts = np.arange(1, n_part + 1)
        unit = np.zeros((parts.size, m * sub))
        for j, e in enumerate(e0):
            share = 1.0 if j == 0 else 0.8  # the second couple a little smaller, as in LiMn2O4
            unit += share * _couple_current(E_f, dt / sub, np.full(parts.size, e), ks_part[parts], np.ones(parts.size))
        unit = unit.reshape(parts.size, m, sub).mean(axis=2)
        i_far[rows] = q[rows, None] * unit[lab[iy, ix][rows] - 1]

    # double layer (C v, sign of the sweep) and a solvent-oxidation tail near e_high on carbon
    sweep = np.sign(np.gradient(E))
    e_mid = 0.5 * (e_low + e_high)
    cv = np.where(on_p, rng.uniform(*particle_dl_current, size=n), rng.uniform(*substrate_current, size=n))
    i_dl = cv[:, None] * (1 + 0.5 * (E - e_mid))[None, :] * sweep[None, :]
    tail = np.where(on_p, 0.0, rng.uniform(0.0, 0.1e-12, size=n))[:, None] * np.exp((E - e_high) / 0.05)[None, :]
    signal = i_far + i_dl + tail

    # failed landings
    status = np.full(n, "landed", dtype="<U14")
    order = rng.permutation(n)
    k0 = int(round(noise_only_fraction * n))
    k1 = int(round(partial_fraction * n))
    noise_only = np.zeros(n, bool)
    noise_only[order[:k0]] = True
    status[noise_only] = "no_contact"
    dead = np.full((n, 2), np.nan)
    signal[noise_only] = 0.0
    for p in order[k0:k0 + k1]:
        status[p] = "failed_landing"
        f = rng.uniform(0.3, 0.7)
        if rng.random() < 0.5:
            signal[p, int(f * m):] = 0.0  # meniscus lost
            dead[p] = (f, 1.0)
        else:
            signal[p, : int(f * m)] = 0.0  # contact formed late
            dead[p] = (0.0, f)

    cur = signal + offset + noise * rng.standard_normal((n, m)) + _flicker(rng, (n, m), flicker)
    if adc_step > 0:
        cur = np.round(cur / adc_step) * adc_step
    cur = cur * scale

    gx, gy = np.arange(nx) * pitch, np.arange(ny) * pitch
    ds = from_arrays(
        cur, E, gx[ix], gy[iy], time=t, source="nbtools.simulate.hopping_scan", reference_electrode="Li/Li+",
        attrs={"scan_rate": float(scan_rate), "seed": int(seed), "current_scale": float(scale),
               "material": "LiMn2O4-like particles on carbon (simulated, sub-pA substrate)"},
        label=label,
    )
    truth = {
        "particle": act >= 0.35,
        "activity": act,
        "status": status,
        "noise_only": noise_only,
        "dead": dead,
        "substrate_current": np.where(on_p, np.nan, cv) * scale,
        "peak_current": ip * scale,
        "scale": float(scale),
    }
    return ds, truth
