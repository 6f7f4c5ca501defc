"""Landing-quality labels and classify on independent, realistic scans (issue 11).

The scans come from :func:`nbtools.simulate.hopping_scan`, written apart from
the bundled example's simulator: LiMn2O4-like particles with peaks of a few
pA, a carbon substrate whose double-layer current is 0.15-0.75 pA, 0.3 pA
white noise, a little 1/f noise, an amplifier offset and 4 % noise-only
landings, at several current scales.
"""

import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtools import seccm
from nbtools.errors import NbtoolsWarning, ParameterError
from nbtools.seccm.contact import normal_deviate, normal_deviate_quantile
from nbtools.simulate import hopping_scan

SCALES = (1e-3, 1.0, 1e3)


@pytest.fixture(scope="module")
def raw():
    """One realistic scan, unlabelled, at current scale 1 (pA)."""
    return hopping_scan(seed=11, label=False)


def _scaled(ds, k):
    return ds.assign(current=ds.current * k)


def _scores(status, truth):
    landed = truth["status"] == "landed"
    noise_only = truth["noise_only"]
    flagged = status != "landed"
    tp = (flagged & noise_only).sum()
    return {"landed_ok": (status[landed] == "landed").mean(), "precision": tp / max(flagged.sum(), 1),
            "recall": tp / noise_only.sum()}


def _iou(mask, truth):
    t = truth["particle"]
    return (mask & t).sum() / (mask | t).sum()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("scale", SCALES)
def test_labels_and_classify_meet_the_targets_at_every_scale(seed, scale):
    ds, truth = hopping_scan(seed=seed, scale=scale)
    s = _scores(ds.status.values, truth)
    assert s["landed_ok"] >= 0.95, s
    assert s["precision"] >= 0.9 and s["recall"] >= 0.9, s
    with warnings.catch_warnings():
        warnings.simplefilter("error", NbtoolsWarning)
        mask = seccm.classify(ds)
    assert _iou(mask.values, truth) >= 0.9
    assert mask.attrs["split"] == 1


def test_labels_do_not_depend_on_the_current_scale(raw):
    ds, _ = raw
    ref = seccm.quality(ds)
    for k in (1e-3, 1e3, 7.3e-6):
        q = seccm.quality(_scaled(ds, k))
        np.testing.assert_array_equal(q.status.values, ref.status.values)
        np.testing.assert_array_equal(q.reason.values, ref.reason.values)
        np.testing.assert_allclose(q.evidence.values, ref.evidence.values, rtol=1e-9)
        assert q.attrs["offset"] == pytest.approx(ref.attrs["offset"] * k, rel=1e-9)


@settings(max_examples=12, deadline=None)
@given(k=st.floats(1e-6, 1e6), seed=st.integers(0, 10_000))
def test_labels_are_scale_free_property(k, seed):
    """Any factor, any noise draw: the same labels (current, offset and rail scaled together)."""
    rng = np.random.default_rng(seed)
    E = np.r_[np.linspace(0.0, 0.6, 150), np.linspace(0.6, 0.0, 150)]
    cur = 0.3 * rng.standard_normal((20, 300)) + 0.02
    cur[:12] += rng.uniform(0.05, 0.4, (12, 1)) * np.sign(np.gradient(E))  # weak double layers
    cur[12:15] += 3 * np.exp(-((E - 0.3) / 0.03) ** 2) * np.sign(np.gradient(E))  # peaks
    cur[15, 180:] = 0.02 + 0.3 * rng.standard_normal(120)  # meniscus lost
    cur[:15] *= 1.0
    a = seccm.from_arrays(cur * 1e-12, E, grid=(4, 5), dt=0.01, label=False, attrs={"current_offset": 0.02e-12})
    b = seccm.from_arrays(cur * 1e-12 * k, E, grid=(4, 5), dt=0.01, label=False,
                          attrs={"current_offset": 0.02e-12 * k})
    np.testing.assert_array_equal(seccm.quality(a).status.values, seccm.quality(b).status.values)


def test_every_label_has_a_reason_in_words():
    ds, truth = hopping_scan(seed=5, partial_fraction=0.03)
    assert "status_reason" in ds and ds.status_reason.dims == ("pixel",)
    for status, reason in zip(ds.status.values, ds.status_reason.values):
        assert reason.startswith(status.replace("_", " ") + ":"), (status, reason)
        assert "_" not in reason and "=" not in reason  # no Python names
    landed = ds.status_reason.values[ds.status.values == "landed"][0]
    assert "contact evidence" in landed and "needed" in landed
    gone = ds.status_reason.values[truth["noise_only"]][0]
    assert gone.startswith("no contact: the current is noise only")
    part = ds.status_reason.values[ds.status.values == "failed_landing"]
    assert part.size and any("meniscus lost" in r or "contact made late" in r for r in part)


def test_partial_failures_are_flagged_and_say_where():
    ds, truth = hopping_scan(seed=2, partial_fraction=0.05)
    part = truth["status"] == "failed_landing"
    st_ = ds.status.values
    assert (st_[part] != "landed").mean() >= 0.9
    q = seccm.quality(ds)
    lost = part & (truth["dead"][:, 1] == 1.0) & (st_ == "failed_landing")
    assert lost.any()
    # the stretch without current found lies inside the true one
    assert np.all(1 - q.dead_end.values[lost] >= truth["dead"][lost, 0] - 0.05)
    assert (st_[truth["status"] == "landed"] == "landed").mean() >= 0.95


def test_bundled_simulator_and_example_keep_their_labels():
    from pathlib import Path

    from nbtools.simulate import seccm_scan

    ds, truth = seccm_scan(nx=30, ny=30, n_samples=400, seed=4)
    np.testing.assert_array_equal(ds.status.values, truth["status"])
    example = Path(__file__).resolve().parents[1] / "data" / "seccm_example.nc"
    if example.exists():
        ex = seccm.load(example)
        t = np.load(example.with_name("seccm_example_truth.npz"))
        np.testing.assert_array_equal(seccm.quality(ex).status.values, t["status"])


def test_real_wecspm_landings_are_landed_with_reasons(tdms):
    ds = seccm.load(tdms)
    assert list(ds.status.values) == ["landed"] * 4
    q = seccm.quality(ds)
    assert (q.evidence.values > 20).all()
    assert q.attrs["offset_source"] == "the file's no-contact current"
    assert all(r.startswith("landed: contact evidence") for r in ds.status_reason.values)
    # the same file in nA: the same labels
    q2 = seccm.quality(_scaled(ds, 1e9).assign_attrs(current_offset=ds.attrs["current_offset"] * 1e9))
    np.testing.assert_array_equal(q2.status.values, q.status.values)


def test_a_drift_or_an_offset_is_no_contact():
    rng = np.random.default_rng(4)
    E = np.r_[np.linspace(0, 1, 200), np.linspace(1, 0, 200)]
    base = 1e-13 * rng.standard_normal((4, 400))
    base[1] += 5e-12  # a constant offset: no contact
    base[2] += np.linspace(0, 3e-12, 400)  # a slow linear drift: no contact
    base[3] += 2e-13 * np.sign(np.gradient(E))  # a double layer at 2 x the noise per sample: contact
    ds = seccm.from_arrays(base, E, grid=(2, 2), dt=0.01, label=False)
    q = seccm.quality(ds, offset=0.0)
    assert q.status.values.tolist() == ["no_contact", "no_contact", "no_contact", "landed"]
    assert q.sweep_evidence.values[3] > 10  # positive: a capacitive current


def test_z_limit_is_named_in_the_reason():
    rng = np.random.default_rng(1)
    E = np.r_[np.linspace(0, 1, 100), np.linspace(1, 0, 100)]
    cur = 1e-13 * rng.standard_normal((4, 200))
    cur[:2] += 1e-12 * np.sign(np.gradient(E))
    ds = seccm.from_arrays(cur, E, grid=(2, 2), dt=0.01, label=False)
    ds["z"] = ("pixel", np.array([10e-6, 10.2e-6, 10.1e-6, 25e-6]))
    q = seccm.quality(ds, z_limit=25e-6)
    assert q.status.values.tolist() == ["landed", "landed", "no_contact", "no_contact"]
    assert "end of the Z travel (25 µm)" in q.reason.values[3] and "Z travel" not in q.reason.values[2]


def test_chi_square_deviates_match_scipy():
    from scipy import stats

    for k in (3, 18, 100):
        for z in (-1.0, 0.0, 2.33, 5.0):
            x = normal_deviate_quantile(z, k)
            assert normal_deviate(x, k) == pytest.approx(z, abs=1e-9)
            assert stats.norm.isf(stats.chi2.sf(x, k)) == pytest.approx(z, abs=0.3 if k < 10 else 0.12)


# ------------------------------------------------------------------ the user's marks
def test_marks_override_the_statistics_and_survive_relabelling(raw, tmp_path):
    ds, truth = raw
    ds = seccm.label_landings(ds)
    gone = np.flatnonzero(truth["noise_only"])[:2]
    good = np.flatnonzero(ds.status.values == "landed")[:3]
    marked = seccm.mark_pixels(seccm.mark_pixels(ds, gone, "landed"), good, "failed_landing")
    assert (marked.status.values[gone] == "landed").all() and (marked.status_auto.values[gone] == "no_contact").all()
    assert (marked.status.values[good] == "failed_landing").all()
    assert (ds.status.values[gone] == "no_contact").all()  # the input is not changed
    # statistics follow the marks
    g = seccm.group_stats(marked, np.r_[gone, good])
    assert g.attrs["n_pixels"] == 2 and g.attrs["n_excluded"] == 3
    assert seccm.classify(marked).attrs["n_used"] == seccm.classify(ds).attrs["n_used"] - 1
    # relabelling (other settings) keeps the marks; a saved file keeps them
    again = seccm.label_landings(marked, min_evidence=6.0)
    np.testing.assert_array_equal(again.status.values[np.r_[gone, good]], marked.status.values[np.r_[gone, good]])
    back = seccm.load(seccm.save(again, tmp_path / "marked.nc"))
    np.testing.assert_array_equal(back.status_override.values, again.status_override.values)
    # None gives the pixels back to the statistics
    undone = seccm.mark_pixels(marked, np.r_[gone, good], None)
    np.testing.assert_array_equal(undone.status.values, ds.status.values)
    with pytest.raises(ParameterError, match="mark pixels as one of"):
        seccm.mark_pixels(ds, gone, "good")
    with pytest.raises(ParameterError, match="within 0"):
        seccm.mark_pixels(ds, [10**6], "landed")


def test_quality_recipe_reproduces_and_round_trips(raw):
    from nbtools.recipes import from_json

    ds, _ = raw
    q = seccm.quality(ds, min_evidence=4.0, min_dead_fraction=0.3, n_windows=16)
    r = q.attrs["recipe"]
    assert from_json(r.to_json()) == r
    xr.testing.assert_identical(seccm.quality(ds, r), q)


# ------------------------------------------------------------------ classify
def test_classify_without_two_populations_says_so_in_words():
    ds, _ = hopping_scan(nx=12, ny=10, seed=3, coverage=0.0)
    with pytest.warns(NbtoolsWarning) as rec:
        m = seccm.classify(ds)
    text = str(rec[0].message)
    assert m.attrs["split"] == 0 and not m.values.any()
    assert "one population" in text and "min_" not in text and "all False" not in text
    small = ds.isel(pixel=slice(0, 6))
    with pytest.warns(NbtoolsWarning, match="only 6 usable landing"):
        seccm.classify(small)


def test_mixture_threshold_sits_next_to_the_narrow_population():
    from nbtools.seccm.classify import mixture_threshold, otsu_threshold

    rng = np.random.default_rng(0)
    v = np.r_[rng.normal(0, 1, 700), rng.lognormal(np.log(12), 0.6, 300)]
    t, o = mixture_threshold(v), otsu_threshold(v)
    assert 2.5 < t < o  # Otsu cuts into the broad population
    wrong = lambda thr: ((v > thr) != (np.arange(v.size) >= 700)).mean()  # noqa: E731
    assert wrong(t) < 0.02 < wrong(o)


def test_coherence_tells_regions_from_scatter():
    from nbtools.seccm.classify import coherence

    rng = np.random.default_rng(2)
    use = np.ones((20, 20), bool)
    assert abs(coherence(rng.random((20, 20)) > 0.5, use)) < 0.15
    blob = np.zeros((20, 20), bool)
    blob[4:12, 5:14] = True
    assert coherence(blob, use) > 0.7
