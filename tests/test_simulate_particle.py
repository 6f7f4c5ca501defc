"""Finite-volume single-particle simulator against the analytic limits and [N] tables."""

import numpy as np
import pytest

from nbtools.errors import ParameterError
from nbtools.kinetics import laviron_cv, pitt_sphere, pitt_sphere_biot
from nbtools.simulate import particle_cv, particle_step

F_RT = 96485.33212 / (8.314462618 * 298.15)
R, V = 200e-9, 1e-3


@pytest.mark.parametrize("sigma,psi,Ep", [(1, 0.2495, 1.6), (10, 0.2232, 11.9), (100, 0.1119, 23.2),
                                          (1000, 0.0401, 26.9)])
def test_sphere_cv_peak_table(sigma, psi, Ep):
    """kinetics.md 1.8: psi_p(sigma) and E_p - E0' for a Nernstian surface."""
    D = F_RT * V * R**2 / sigma
    df = particle_cv(radius=R, D=D, kinetics="nernst", v=V, dE=0.25e-3)
    Q = df.attrs["truth"]["Q"]
    assert df.i.max() / (Q * F_RT * V) == pytest.approx(psi, rel=0.01)
    assert (df.E[df.i.idxmax()] - 4.0) * 1e3 == pytest.approx(Ep, abs=0.6)
    assert df.attrs["truth"]["sigma"] == pytest.approx(sigma)


@pytest.mark.parametrize("g", [0.0, 0.5, -1.0])
def test_fast_diffusion_is_the_laviron_thin_layer(g):
    lam = 1.0
    ks = lam * F_RT * V
    df = particle_cv(radius=R, D=1e-13, k0=ks * R / 3, alpha=0.4, g=g, v=V, dE=0.5e-3)
    Q = df.attrs["truth"]["Q"]
    ref = laviron_cv(df.E.to_numpy(), Q, 4.0, ks, 0.4, g, V)
    assert np.max(np.abs(df.i - ref)) / np.abs(ref).max() < 0.005
    # charge conservation: anodic charge = Q (full conversion over +-0.3 V... minus tails)
    assert df.x_mean.iloc[0] == pytest.approx(1.0, abs=1e-4)


def test_mhc_close_to_bv_for_large_lambda_and_small_eta():
    ks = F_RT * V
    kw = dict(radius=R, D=1e-13, k0=ks * R / 3, v=V, dE=2e-3)
    bv = particle_cv(**kw)
    mhc = particle_cv(kinetics="mhc", lam=2.0, **kw)
    assert np.max(np.abs(mhc.i - bv.i)) / bv.i.abs().max() < 0.03
    # slow kinetics and small lam: MHC rates saturate, the peaks separate more than with BV
    kw["k0"] = 0.05 * ks * R / 3
    sep = lambda d: d.E[d.i.idxmax()] - d.E[d.i.idxmin()]  # noqa: E731
    assert sep(particle_cv(kinetics="mhc", lam=0.15, **kw)) > sep(particle_cv(**kw)) + 0.02


def test_potential_step_matches_pitt_series():
    D = 1e-15
    tau = R**2 / D
    df = particle_step(E_initial=4.0, E_steps=[4.002, 4.004], t_step=0.6 * tau, kinetics="nernst",
                       radius=R, D=D)
    for k in (0, 1):
        s = df[df.step == k]
        dQ = df.attrs["truth"]["dQ"][k]
        ref = pitt_sphere(s.t_step.to_numpy(), dQ, tau)
        sel = (s.t_step > 1e-3 * tau).to_numpy()
        np.testing.assert_allclose(s.i.to_numpy()[sel], ref[sel], rtol=0.01)


def test_potential_step_with_kinetics_matches_biot_series():
    D = 1e-15
    tau = R**2 / D
    k0 = 2.0 * R / (2 * tau)  # Biot ~ 2 at x = 1/2
    df = particle_step(E_initial=4.0, E_steps=4.001, t_step=0.6 * tau, k0=k0, radius=R, D=D)
    L = df.attrs["truth"]["biot"][0]
    assert L == pytest.approx(2.0, rel=0.01)
    ref = pitt_sphere_biot(df.t_step.to_numpy(), df.attrs["truth"]["dQ"][0], tau, L)
    assert np.max(np.abs(df.i - ref)) / np.abs(ref).max() < 0.01


def test_noise_seed_and_bad_input():
    a = particle_cv(radius=R, D=1e-14, kinetics="nernst", v=V, dE=2e-3, noise=1e-13, seed=1)
    b = particle_cv(radius=R, D=1e-14, kinetics="nernst", v=V, dE=2e-3, noise=1e-13, seed=1)
    assert a.i.equals(b.i) and a.attrs["truth"]["noise"] == 1e-13
    with pytest.raises(ParameterError, match="radius"):
        particle_cv(radius=-1.0)
    with pytest.raises(ParameterError, match="kinetics"):
        particle_cv(kinetics="butler")
    with pytest.raises(ParameterError, match="miscibility"):
        particle_step(E_initial=4.0, E_steps=4.1, t_step=1.0, g=2.5)
