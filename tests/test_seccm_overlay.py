"""Correlative overlay: image loading, affine registration, polygon selection."""

import numpy as np
import pytest

from nbtools import seccm
from nbtools.errors import FormatError, ParameterError
from nbtools.simulate import seccm_scan


def test_register_recovers_affine():
    rng = np.random.default_rng(1)
    M = np.array([[2e-7, -5e-8, 3e-6], [4e-8, 1.9e-7, -1e-6], [0, 0, 1]])
    img = np.zeros((100, 120))
    pi = rng.uniform(0, 99, size=(5, 2))
    pm = pi @ M[:2, :2].T + M[:2, 2]
    reg = seccm.register_image(img, pi, pm)
    np.testing.assert_allclose(reg.matrix, M, rtol=1e-9, atol=1e-15)
    assert reg.rms < 1e-15
    np.testing.assert_allclose(reg.to_image(reg.to_map(pi)), pi, atol=1e-9)
    # noisy map points: residuals reported
    reg2 = seccm.register_image(img, pi, pm + rng.normal(0, 1e-7, pm.shape))
    assert 1e-8 < reg2.rms < 3e-7


def test_register_bad_points():
    img = np.zeros((50, 50))
    with pytest.raises(ParameterError, match="at least 3"):
        seccm.register_image(img, [[0, 0], [10, 10]], [[0, 0], [1, 1]])
    with pytest.raises(ParameterError, match="collinear"):
        seccm.register_image(img, [[0, 0], [10, 10], [20, 20]], [[0, 0], [1, 0], [0, 1]])
    with pytest.raises(ParameterError, match="same features"):
        seccm.register_image(img, [[0, 0], [10, 0], [0, 10]], [[0, 0], [1, 0]])
    with pytest.raises(ParameterError, match="outside"):
        seccm.register_image(img, [[0, 0], [10, 0], [0, 99]], [[0, 0], [1, 0], [0, 1]])


def test_load_image(tmp_path):
    from PIL import Image

    arr = (np.arange(12 * 10).reshape(12, 10) % 255).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "sem.png")
    Image.fromarray(arr).save(tmp_path / "sem.tif")
    a = seccm.load_image(tmp_path / "sem.png")
    assert a.shape == (12, 10, 3) and (a[..., 0] == arr).all()
    assert seccm.load_image(tmp_path / "sem.tif").shape[:2] == (12, 10)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(FormatError, match="broken.png"):
        seccm.load_image(tmp_path / "broken.png")
    with pytest.raises(FormatError, match="not found"):
        seccm.load_image(tmp_path / "none.png")


def test_warp_and_polygon_selection():
    ds, truth = seccm_scan(nx=10, ny=8, n_samples=100, seed=2, label=False)
    # image = the scan at 10 image pixels per landing, flipped vertically
    img = np.kron(truth["particle"][::-1].astype(float), np.ones((10, 10)))
    pitch = 2e-6
    pi = np.array([[5, 75], [95, 75], [5, 5]])  # centres of landings (0,0), (9,0), (0,7)
    pm = np.array([[0, 0], [9 * pitch, 0], [0, 7 * pitch]])
    reg = seccm.register_image(img, pi, pm)
    w = seccm.warp_to_map(img, reg, ds.attrs["grid_x"], ds.attrs["grid_y"])
    np.testing.assert_array_equal(w.values.astype(bool), truth["particle"])
    # a polygon drawn on the image around the left half
    sel = seccm.pixels_in_polygon(ds, [[0, 0], [49, 0], [49, 79], [0, 79]], registration=reg)
    np.testing.assert_array_equal(sel.values, ds.ix.values <= 4)
    with pytest.raises(ParameterError, match="3 are needed"):
        seccm.pixels_in_polygon(ds, [[0, 0], [1, 1]])
