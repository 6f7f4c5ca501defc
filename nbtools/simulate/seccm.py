"""Simulated hopping-mode SECCM scan with known truth.

LiMn2O4-like particles (two one-electron couples near 4.00 and 4.15 V vs
Li/Li+, each a surface-confined Laviron couple with rate constant ``k_s``:
kinetics.md sections 1.6-1.7) on a capacitive carbon substrate; one cyclic
voltammogram per landing, recorded in serpentine order; some failed landings
(meniscus lost part-way or formed late), pixels without contact, noisy pixels
and pixels clipped at the amplifier rail.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["seccm_scan"]

F_RT = 96485.33212 / (8.314462618 * 298.15)


def _particles(ny, nx, rng, coverage, radius_px):
    """Random discs: returns (mask, activity factor 0.3-1 inside)."""
    act = np.zeros((ny, nx))
    yy, xx = np.mgrid[0:ny, 0:nx]
    target = coverage * nx * ny
    for _ in range(10_000):
        if (act > 0).sum() >= target:
            break
        r = rng.uniform(*radius_px)
        cy, cx = rng.uniform(-r / 2, ny - 1 + r / 2), rng.uniform(-r / 2, nx - 1 + r / 2)
        rr = np.hypot(yy - cy, xx - cx) / r
        inside = rr < 1
        a = np.where(inside, 0.3 + 0.7 * np.sqrt(np.clip(1 - rr**2, 0, 1)), 0)
        act = np.maximum(act, a)
    return act > 0, act


def seccm_scan(
    nx=40,
    ny=40,
    n_samples=1000,
    *,
    seed=0,
    pitch=2e-6,
    coverage=0.25,
    radius_px=(2.5, 6.0),
    e_low=3.7,
    e_high=4.4,
    scan_rate=0.5,
    e0=(4.00, 4.15),
    q_max=2e-11,
    k_s=5.0,
    capacitance=4e-12,
    noise=0.1e-12,
    current_range=2e-10,
    failed_fraction=0.03,
    no_contact_fraction=0.02,
    saturated_fraction=0.005,
    noisy_fraction=0.01,
    serpentine=True,
    dtype=np.float64,
    label=True,
    pipette_radius=0.5e-6,
):
    """Simulate an SECCM scan of particles on a carbon substrate.

    Parameters
    ----------
    nx, ny : int
        Grid size (landings along x and y).
    n_samples : int
        Samples per voltammogram (one cycle e_low -> e_high -> e_low).
    seed : int
        Seed of the random generator (particles, failures, noise).
    pitch : float
        Distance between landings (m).
    coverage : float
        Target fraction of pixels on particles.
    radius_px : (float, float)
        Range of particle radii in pixels.
    e_low, e_high : float
        Potential limits (V vs Li/Li+); the sweep starts at ``e_low``.
    scan_rate : float
        V/s.
    e0 : sequence of float
        Formal potentials of the couples (V); the charge is split equally.
    q_max : float
        Faradaic charge (C) of a landing at the centre of a particle.
    k_s : float
        Mean first-order rate constant (1/s) of the particles (log-normal,
        30 % spread between particles).
    capacitance : float
        Double-layer capacitance (F) under the meniscus (1.5 x on particles).
    noise : float
        White current noise, rms (A).
    current_range : float
        Amplifier rail (A); currents are clipped at +-current_range.
    failed_fraction, no_contact_fraction, saturated_fraction, noisy_fraction : float
        Fractions of pixels with each defect.
    serpentine : bool
        Acquisition order: back and forth along x.
    dtype : numpy dtype
        Storage type of current and potential (float32 halves the memory of
        big scans).
    label : bool
        Run the landing-quality labelling on the result.
    pipette_radius : float or None
        Radius of the pipette opening (m), stored in ``attrs['pipette_radius']``
        (the current-density map's default footprint); None: not stored.

    Returns
    -------
    ds : xarray.Dataset
        The scan in the :mod:`nbtools.seccm` layout (potential and time 1-D:
        the same waveform at every landing).
    truth : dict
        ``particle`` (bool map (ny, nx)), ``activity`` (0..1 map), ``status``
        (str, per pixel in ``ds`` order), ``charge`` (C per pixel: faradaic
        charge of the anodic sweep, 0 on the substrate), ``k_s`` (1/s per
        pixel, NaN off particles), ``charge_map`` (ny, nx), ``e0``.
    """
    from ..seccm.dataset import from_arrays

    if nx < 1 or ny < 1 or n_samples < 10:
        raise ParameterError(f"nx={nx}, ny={ny}, n_samples={n_samples}: expected nx, ny >= 1 and n_samples >= 10")
    fr = [failed_fraction, no_contact_fraction, saturated_fraction, noisy_fraction]
    if any(f < 0 for f in fr) or sum(fr) > 0.5:
        raise ParameterError(f"defect fractions {fr}: expected >= 0 with a sum <= 0.5")
    rng = np.random.default_rng(seed)
    n = nx * ny
    m = int(n_samples)

    # acquisition order -> grid indices
    k = np.arange(n)
    iy, ix = k // nx, k % nx
    if serpentine:
        ix = np.where(iy % 2 == 1, nx - 1 - ix, ix)

    mask, act = _particles(ny, nx, rng, coverage, radius_px)
    a_pix = act[iy, ix]
    on_p = mask[iy, ix]

    # waveform
    half = m // 2
    E = np.concatenate([np.linspace(e_low, e_high, half, endpoint=False), np.linspace(e_high, e_low, m - half)])
    dt = 2 * (e_high - e_low) / scan_rate / m
    t = np.arange(m) * dt

    # per pixel parameters
    ks = np.where(on_p, k_s * rng.lognormal(0.0, 0.3, size=n), np.nan)
    q = q_max * a_pix  # 0 on substrate
    cap = capacitance * np.where(on_p, 1.5, 1.0) * rng.uniform(0.9, 1.1, size=n)

    # faradaic current: exact exponential update of the oxidised fraction
    i_far = np.zeros((n, m))
    th_end_anodic = np.zeros(n)
    kk = np.nan_to_num(ks, nan=0.0)
    q_each = q / len(e0)
    for e0_j in e0:
        theta = 1.0 / (1.0 + np.exp(-F_RT * (E[0] - e0_j)))  # equilibrium at start
        theta = np.full(n, theta)
        th0 = theta.copy()
        prev = theta
        for j in range(1, m):
            em = 0.5 * (E[j] + E[j - 1]) - e0_j
            kf = kk * np.exp(0.5 * F_RT * em)
            kb = kk * np.exp(-0.5 * F_RT * em)
            s = kf + kb
            with np.errstate(invalid="ignore", divide="ignore"):
                th_eq = np.where(s > 0, kf / s, prev)
            new = th_eq + (prev - th_eq) * np.exp(-s * dt)
            i_far[:, j] += q_each * (new - prev) / dt
            if j == half:
                th_end_anodic += q_each * (new - th0)
            prev = new
    # double layer: C(E) v with a mild potential dependence
    v_sign = np.sign(np.gradient(E))
    i_cap = cap[:, None] * (1 + 0.3 * (E - 4.0))[None, :] * scan_rate * v_sign[None, :]
    cur = i_far + i_cap

    # defects
    status = np.full(n, "landed", dtype="<U14")
    order = rng.permutation(n)
    counts = [int(round(f * n)) for f in fr]
    names = ["failed_landing", "no_contact", "saturated", "noisy"]
    pos = 0
    for name, c in zip(names, counts):
        status[order[pos: pos + c]] = name
        pos += c
    sigma = np.full(n, noise)
    sigma[status == "noisy"] = 10 * noise
    for p in np.flatnonzero(status == "failed_landing"):
        cut = int(rng.uniform(0.2, 0.75) * m)
        if rng.random() < 0.5:
            cur[p, cut:] = 0.0  # meniscus lost
        else:
            cur[p, : m - cut] = 0.0  # contact formed late
    cur[status == "no_contact"] = 0.0
    sat = status == "saturated"
    if sat.any():  # a leak/short: ohmic current far above the rail
        cur[sat] += (E[None, :] - e_low + 0.05) * current_range * rng.uniform(4, 8, size=(sat.sum(), 1))
    cur += rng.standard_normal((n, m)) * sigma[:, None]
    cur = np.clip(cur, -current_range, current_range).astype(dtype)

    gx, gy = np.arange(nx) * pitch, np.arange(ny) * pitch
    ds = from_arrays(
        cur,
        E.astype(dtype),
        gx[ix],
        gy[iy],
        time=t,
        source="nbtools.simulate.seccm_scan",
        reference_electrode="Li/Li+",
        attrs={
            "scan_rate": float(scan_rate),
            "e_low": float(e_low),
            "e_high": float(e_high),
            "current_range": float(current_range),
            "seed": int(seed),
            "scan_order": "serpentine along x" if serpentine else "raster along x",
            "material": "LiMn2O4-like (simulated)",
            **({"pipette_radius": float(pipette_radius)} if pipette_radius is not None else {}),
        },
        label=label,
    )
    charge = np.where(on_p, th_end_anodic, 0.0)
    cmap = np.full((ny, nx), np.nan)
    cmap[iy, ix] = charge
    truth = {
        "particle": mask,
        "activity": act,
        "status": status,
        "charge": charge,
        "charge_map": cmap,
        "k_s": ks,
        "e0": tuple(e0),
        "noise": sigma,
    }
    return ds, truth
