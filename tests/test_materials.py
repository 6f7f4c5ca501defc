import numpy as np
import pytest

from nbtools.errors import MaterialError, ParameterError
from nbtools.impact import charge_to_radius, radius_to_charge
from nbtools.materials import get_material, list_materials, register_material


def test_table_has_required_materials():
    names = set(list_materials().name)
    for m in ("LiMn2O4", "LiFePO4", "LiCoO2", "TiO2 (anatase)", "NMC111", "Ni(OH)2", "Prussian blue", "Ag", "Au"):
        assert m in names
    assert get_material(" limn2o4 ").name == "LiMn2O4"
    assert get_material("anatase").name == "TiO2 (anatase)"


def test_licoo2_published_check():
    # kinetics.md 3.1: 0.157 nAh, dx = 0.5 -> r = 3.78 um
    assert charge_to_radius(0.157e-9 * 3600, "LiCoO2", conversion=0.5) == pytest.approx(3.78e-6, rel=0.01)


def test_roundtrip_and_sign():
    r = np.array([10e-9, 50e-9, 1e-6])
    q = radius_to_charge(r, "LiFePO4")
    np.testing.assert_allclose(charge_to_radius(-q, "LiFePO4"), r, rtol=1e-12)


def test_unknown_material_lists_names():
    with pytest.raises(MaterialError, match="LiMn2O4"):
        charge_to_radius(1e-12, "unobtainium")


def test_register_material():
    register_material("Test oxide", molar_mass=0.1, density=4000, electrons=2, overwrite=True)
    assert charge_to_radius(radius_to_charge(1e-7, "testoxide"), "TEST OXIDE") == pytest.approx(1e-7)
    with pytest.raises(ParameterError, match="g/mol"):
        register_material("bad", molar_mass=100.0, density=4000, electrons=1)
    with pytest.raises(ParameterError, match="conversion"):
        charge_to_radius(1e-12, "LiMn2O4", conversion=0)
