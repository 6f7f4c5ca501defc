"""nbtools.bpx: single-particle parameters exported as Battery Parameter eXchange sets that validate with the
bpx package (Partial and full DFN/SPM sets), never inventing cell parameters, and as a plain table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nbtools import bpx, gitt
from nbtools.errors import ParameterError
from nbtools.kinetics.constants import F
from nbtools.simulate import gitt_sequence

R_P = 1e-6
ELECTRODE = {"Thickness [m]": 75e-6, "Surface area per unit volume [m-1]": 3 * 0.55 / R_P,
             "Minimum stoichiometry": 0.25, "Maximum stoichiometry": 0.8}


@pytest.fixture(scope="module")
def particle():
    df = gitt_sequence(n_pulses=5, dx_pulse=0.08, x0=0.85, t_pulse=30.0, t_rest=150.0, D=3e-15, radius=R_P,
                       points_pulse=40, points_rest=40, noise=5e-5, seed=5)
    Q = df.attrs["truth"]["Q"]
    res = gitt.analyze(df, radius=R_P, radius_err=3e-8, capacity=Q, soc0=0.15)
    from nbtools.kinetics import arrhenius_fit
    from nbtools.simulate import arrhenius_series

    s = arrhenius_series(Ea=40e3, rel_err=0.05, seed=1)
    ea = arrhenius_fit(s["T"], s["value"], s["err"], quantity="D")
    # SOC is the fraction delithiated from x = 1: stoichiometry = 1 - SOC
    return bpx.particle_from_gitt(res, c_max=23744.0, stoichiometry=(1.0, 0.0), k0=2e-10, k0_err=3e-11,
                                  c_e_ref=1000.0, arrhenius_D=ea)


def _schema_examples(cls):
    """A section filled from the BPX schema's own example values (stand-ins for a user's cell data)."""
    out = {}
    for f in cls.model_fields.values():
        if f.is_required() and f.alias not in ("Particle",):
            out[f.alias] = f.examples[0]
    return out


def test_partial_export_validates_with_bpx(particle, tmp_path):
    pytest.importorskip("bpx")
    obj = bpx.to_bpx(particle, electrode_fields=ELECTRODE)
    model = bpx.validate(obj)
    pe = model.parameterisation.positive_electrode
    assert pe.particle_radius == R_P
    assert pe.maximum_concentration == 23744.0
    assert pe.diffusivity_activation_energy == pytest.approx(particle.Ea_D)
    # measured D(x) and OCP tables, stoichiometry increasing
    D = obj["Parameterisation"]["Positive electrode"]["Diffusivity [m2.s-1]"]
    assert np.all(np.diff(D["x"]) > 0) and np.allclose(D["y"], 3e-15, rtol=0.15)
    # nothing invented: no cell, electrolyte or other electrode in a Partial set
    assert set(obj["Parameterisation"]) == {"Positive electrode", "User-defined"}
    assert "supplied by the user" in obj["Header"]["Description"]
    # uncertainties travel in User-defined
    user = obj["Parameterisation"]["User-defined"]
    assert any("lower bound" in k for k in user) and any("radius standard error" in k for k in user)
    path = bpx.write_bpx(tmp_path / "particle.bpx.json", obj)
    assert bpx.validate(path).header.model == "Partial"
    with pytest.raises(ParameterError, match="exists"):
        bpx.write_bpx(path, obj)


def _dfn_set(particle, **cell):
    schema = pytest.importorskip("bpx").schema
    electrode = dict(ELECTRODE, **{"Porosity": 0.3, "Transport efficiency": 0.16, "Conductivity [S.m-1]": 0.18})
    return bpx.to_bpx(particle, model="DFN", electrode_fields=electrode,
                      cell=dict(_schema_examples(schema.Cell), **cell),
                      electrolyte=_schema_examples(schema.Electrolyte),
                      other_electrode=_schema_examples(schema.ElectrodeSingle),
                      separator=_schema_examples(schema.Contact))


def test_full_dfn_set_with_user_sections_validates(particle):
    obj = _dfn_set(particle)
    model = bpx.validate(obj)
    assert model.header.model == "DFN"
    assert model.parameterisation.positive_electrode.particle_radius == R_P
    # the measurement temperature is the Arrhenius reference; a different one is refused
    assert obj["Parameterisation"]["Cell"]["Reference temperature [K]"] == 298.15
    with pytest.raises(ParameterError, match="Reference temperature"):
        _dfn_set(particle, **{"Reference temperature [K]": 310.0})


def test_full_set_loads_in_pybamm(particle, tmp_path):
    """Skipped unless PyBaMM is installed (checked by hand with PyBaMM 26.10: ParameterValues.create_from_bpx)."""
    pybamm = pytest.importorskip("pybamm")
    obj = _dfn_set(particle, **{"External surface area [m2]": 3.78e-2, "Volume [m3]": 1.27e-4})
    path = bpx.write_bpx(tmp_path / "dfn.json", obj)
    pv = pybamm.ParameterValues.create_from_bpx(str(path))
    assert pv["Positive particle radius [m]"] == R_P


def test_missing_cell_fields_are_named_never_invented(particle):
    with pytest.raises(ParameterError) as exc:
        bpx.to_bpx(particle, model="DFN", electrode_fields={"Thickness [m]": 7e-5})
    msg = str(exc.value)
    for needed in ("Surface area per unit volume", "Minimum stoichiometry", "Porosity", "cell: 'Electrode area",
                   "other_electrode", "electrolyte: 'Cation transference number'", "separator"):
        assert needed in msg
    assert "does not invent" in msg
    t = bpx.template("DFN")
    assert set(t) == {"electrode_fields", "cell", "other_electrode", "electrolyte", "separator", "also read by PyBaMM"}
    assert all(v is not None for v in t["cell"])
    with pytest.raises(ParameterError, match="model must be"):
        bpx.to_bpx(particle, model="P2D")


def test_reaction_rate_constant_gives_the_same_exchange_current():
    k0, ce, cmax, x = 2e-10, 1000.0, 23744.0, 0.3
    K = bpx.reaction_rate_constant(k0, ce)
    i0_nbtools = F * k0 * cmax * np.sqrt(x * (1 - x))  # at c_e = c_e,ref, alpha = 0.5
    j0_bpx = F * K * np.sqrt(ce * cmax * x * (cmax - cmax * x))
    assert j0_bpx == pytest.approx(i0_nbtools, rel=1e-12)
    with pytest.raises(ParameterError, match="c_e_ref"):
        bpx.ParticleParameters(radius=1e-6, c_max=1.0, k0=1e-10,
                               diffusivity=pd.DataFrame({"sto": [0.5], "D": [1e-15]}),
                               ocp=pd.DataFrame({"sto": [0.2, 0.8], "E": [4.1, 3.9]}))


def test_plain_table_as_csv_and_json(particle, tmp_path):
    table = bpx.parameter_table(particle)
    assert {"particle radius", "diffusivity", "OCP", "k0", "diffusivity activation energy"} <= set(table["quantity"])
    csv = bpx.write_table(tmp_path / "p.csv", particle)
    back = pd.read_csv(csv)
    assert len(back) == len(table) and back.loc[back["quantity"] == "k0", "std_err"].iloc[0] == 3e-11
    js = json.loads(bpx.write_table(tmp_path / "p.json", particle).read_text())
    assert js["level"] == 0.95 and len(js["parameters"]) == len(table)
    with pytest.raises(ParameterError, match=".csv or .json"):
        bpx.write_table(tmp_path / "p.xlsx", particle)
