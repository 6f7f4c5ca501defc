"""The MODELS registry is complete enough for a UI to be built from it alone."""

import json

import numpy as np
import pytest

from nbtools.kinetics import MODELS, KineticsModel

SAMPLE_X = {
    "eta": np.linspace(-0.2, 0.2, 41),
    "E": np.r_[np.linspace(-0.3, 0.3, 61), np.linspace(0.3, -0.3, 61)[1:]],
    "t": np.linspace(1e-3, 1.0, 50),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_entry_is_complete(name):
    e = MODELS[name]
    assert e.name == name and e.description and e.validity
    assert e.x_order in ("monotonic", "increasing", "time-order")
    m = e.make_model()
    assert isinstance(m, KineticsModel) and m.entry_name == name and m.entry is e
    assert list(e.independent_vars) == m.independent_vars
    pars = e.make_params()
    assert set(pars) == set(e.params) == set(m.param_names)
    for pname, info in e.params.items():
        assert isinstance(info.unit, str) and info.description
        p = pars[pname]
        assert p.min <= p.value <= p.max
        if info.plausible is not None:
            assert info.plausible[0] < info.plausible[1]
    if "T" in pars:
        assert pars["T"].value == 298.15 and not pars["T"].vary
    x = SAMPLE_X[e.x_name]
    if name == "FrumkinCV" or name == "LavironCV":
        pars["E0"].value = 0.0
    y = m.eval(pars, **{e.x_name: x})
    assert y.shape == x.shape and np.all(np.isfinite(y))
    json.dumps(e.to_dict(), allow_nan=False)


def test_expected_models_present():
    assert {"ButlerVolmer", "ButlerVolmerMT", "Tafel", "MarcusHushChidsey", "MarcusHushChidseyZeng",
            "FrumkinCV", "LavironCV", "PITTSphere", "PITTSphereBiot", "ImpactKinetic",
            "ImpactDiffusion", "ImpactMixed"} <= set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_guess_gives_parameters_inside_bounds(name):
    e = MODELS[name]
    m = e.make_model()
    x = SAMPLE_X[e.x_name]
    pars = e.make_params()
    if e.x_name == "E":  # formal potentials inside the sample range
        for k, v in zip([k for k in pars if k.startswith("E0")], (0.0, 0.15)):
            pars[k].value = v
    if name.startswith("Impact"):
        pars["t0"].value = 0.1
    y = m.eval(pars, **{e.x_name: x})
    g = m.guess(y, x)
    for p in g.values():
        assert p.min <= p.value <= p.max


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_fits_its_own_example(name):
    """Registry examples (used by dashboards) are fitted back within 5 %."""
    import warnings

    from nbtools.kinetics import fit

    e = MODELS[name]
    ex = e.example(noise=0.005, seed=1)
    fixed = {k: v for k, v in ex["truth"].items() if not e.params[k].vary}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # correlation notes are tested elsewhere
        res = fit(name, ex["x"], ex["y"], params=fixed or None)
    for k, v in ex["truth"].items():
        if e.params[k].vary:
            assert res.params[k].value == pytest.approx(v, rel=0.05, abs=1e-5 if k == "t0" else 0), k  # t0 to one sample
