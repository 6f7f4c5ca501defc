"""Write the bundled particle-on-a-stick example data of data/ (reproducible, seeded).

Run from anywhere:  python data/make_particle_examples.py   (about a minute)

One LiMn2O4 particle (radius 1 um) on a microwire, simulated with
:func:`nbtools.simulate.particle_cv` and :func:`nbtools.simulate.particle_step`
(finite-volume solid diffusion in a sphere, Butler-Volmer surface kinetics):

- ``particle_cv_<v>mVs.csv``: one cyclic voltammogram per scan rate (0.2 ... 10 mV/s),
  columns ``Time / s, Potential / V, Current / pA`` (anodic current positive);
- ``particle_pitt.csv``: a potential-step (PITT) series, 20 mV steps held 60 s each,
  same columns, sampled every 0.1 s (0.1 ... 59.9 s after each step);
- ``particle_truth.json``: the parameters of the simulation (the answers).

What a real recording adds is imitated: Gaussian current noise (0.2 pA rms)
and the double-layer charging current of the wire (100 pF).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

MATERIAL = "LiMn2O4"
RADIUS = 1.0e-6  # m
D = 1.0e-13  # m^2/s  (1e-9 cm^2/s): tau = r^2/D = 10 s
K0 = 1.0e-7  # m/s    (1e-5 cm/s):   k_s = 3 k0 / r = 0.3 1/s
ALPHA = 0.5
E0 = 4.05  # V vs Li/Li+
SCAN_RATES = [0.2e-3, 0.5e-3, 1e-3, 2e-3, 5e-3, 10e-3]  # V/s
STEP_E_INITIAL = 3.95
STEP_POTENTIALS = [3.97, 3.99, 4.01, 4.03, 4.05, 4.07, 4.09, 4.11]
STEP_DURATION = 60.0  # s
STEP_DT = 0.1  # s
NOISE = 0.2e-12  # A rms
C_DL = 100e-12  # F, wire double layer


def _cmax():
    from nbtools.materials import get_material

    m = get_material(MATERIAL)
    return m.density / m.molar_mass  # mol/m^3 of formula units


def _write(df: pd.DataFrame, name: str) -> Path:
    out = pd.DataFrame({"Time / s": df["t"].to_numpy(), "Potential / V": df["E"].to_numpy(),
                        "Current / pA": df["i"].to_numpy() * 1e12})
    path = HERE / name
    out.to_csv(path, index=False, float_format="%.6g")
    return path


def make_cvs(rng_seed: int = 11):
    from nbtools.simulate import particle_cv

    files, truths = [], []
    for k, v in enumerate(SCAN_RATES):
        df = particle_cv(radius=RADIUS, D=D, k0=K0, alpha=ALPHA, E0=E0, c_max=_cmax(), v=v,
                         E_start=E0 - 0.3, E_vertex=E0 + 0.3, dE=1e-3, noise=NOISE,
                         seed=rng_seed + k)
        sweep = np.sign(np.gradient(df["E"].to_numpy()))
        df["i"] = df["i"] + C_DL * v * sweep
        files.append(_write(df, f"particle_cv_{v * 1e3:g}mVs.csv").name)
        tr = df.attrs["truth"]
        truths.append({"file": files[-1], "v": v, "sigma": tr["sigma"], "Lambda": tr["Lambda"]})
    return files, truths, df.attrs["truth"]


def make_pitt(seed: int = 5):
    from nbtools.simulate import particle_step

    n = int(round(STEP_DURATION / STEP_DT))
    df = particle_step(E_initial=STEP_E_INITIAL, E_steps=STEP_POTENTIALS, t_step=STEP_DURATION,
                       radius=RADIUS, D=D, k0=K0, alpha=ALPHA, E0=E0, c_max=_cmax(), n_points=n,
                       spacing="linear", noise=NOISE, seed=seed)
    # keep samples strictly inside each step (0.1 ... 59.9 s): no sample sits on a potential
    # jump (older particle_step versions evaluated it with the next step's potential)
    df = df[df["t_step"] < STEP_DURATION - 0.5 * STEP_DT]
    name = _write(df, "particle_pitt.csv").name
    tr = df.attrs["truth"]
    steps = [{"E": e, "dQ": q, "biot": b} for e, q, b in zip(STEP_POTENTIALS, tr["dQ"], tr["biot"])]
    return name, steps


def main():
    cv_files, cv_truth, tr = make_cvs()
    pitt_file, steps = make_pitt()
    truth = {
        "description": "one LiMn2O4 particle on a microwire, simulated by nbtools.simulate "
                       "(finite-volume sphere, Butler-Volmer kinetics); SI units",
        "material": MATERIAL, "radius": RADIUS, "D": D, "k0": K0, "ks": tr["ks"], "alpha": ALPHA,
        "E0": E0, "g": 0.0, "c_max": tr["c_max"], "Q": tr["Q"], "tau": tr["tau"],
        "capacity_Ah": tr["Q"] / 3600.0, "T": tr["T"], "noise_A": NOISE, "C_dl_F": C_DL,
        "cv": cv_truth, "pitt": {"file": pitt_file, "E_initial": STEP_E_INITIAL,
                                 "t_step": STEP_DURATION, "steps": steps},
        "units": {"radius": "m", "D": "m^2/s", "k0": "m/s", "ks": "1/s", "E0": "V", "Q": "C",
                  "tau": "s", "capacity_Ah": "Ah", "c_max": "mol/m^3", "T": "K", "v": "V/s", "dQ": "C"},
        "generated_by": "data/make_particle_examples.py",
    }
    (HERE / "particle_truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    total = sum((HERE / f).stat().st_size for f in cv_files + [pitt_file, "particle_truth.json"])
    print(f"wrote {len(cv_files)} CVs, {pitt_file} and particle_truth.json ({total / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
