"""nbtools.gitt: segmentation, Weppner-Huggins and spherical-diffusion D against simulated GITT with known D(x),
the OCV curve, the EC-Lab GITT text export, and the messages for bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbtools import gitt
from nbtools.errors import DataError, FormatError, MissingFileError, ParameterError
from nbtools.simulate.gitt import d_dip, frumkin_ocv, gitt_sequence

R_P = 1e-6
D_DIP = d_dip(1e-14, 3e-15, 0.5, 0.25)


@pytest.fixture(scope="module")
def dip_record():
    """14 pulses across SOC 0.2-0.76, D(x) with a 3x dip, Frumkin OCV, 0.05 mV noise, a 1.3 mV IR jump."""
    return gitt_sequence(n_pulses=14, dx_pulse=0.04, x0=0.8, t_pulse=30.0, t_rest=150.0,
                         D=D_DIP, radius=R_P, points_pulse=60, points_rest=60,
                         noise=5e-5, R_ohm=1e8, seed=3)


@pytest.fixture(scope="module")
def dip_result(dip_record):
    Q = dip_record.attrs["truth"]["Q"]
    return gitt.analyze(dip_record, radius=R_P, capacity=Q, soc0=1 - 0.8)


def test_sphere_model_matches_the_finite_volume_simulation():
    D = 3e-15
    df = gitt_sequence(n_pulses=1, dx_pulse=0.02, x0=0.5, t_pulse=20.0, t_rest=100.0, D=D, radius=R_P,
                       points_pulse=50, points_rest=50)
    tr = df.attrs["truth"]
    tau = R_P**2 / D
    p = df[df["step"] >= 1]
    t = p["t"].to_numpy() - tr["t_initial_rest"]
    dsoc = tr["current"] * tr["t_pulse"] / tr["Q"]
    pred = 0.5 - dsoc * gitt.pulse_shape(t, tr["t_pulse"], tau)
    assert np.max(np.abs(p["x_surface"].to_numpy() - pred)) < 0.01 * np.max(np.abs(pred - 0.5))
    # short-time limit: Weppner-Huggins' sqrt(t) law
    s = np.array([1e-6, 1e-5])
    assert np.allclose(gitt.surface_response(s), 2 * np.sqrt(s / np.pi), rtol=0.01)


def test_segmentation_finds_every_pulse_and_rest(dip_record, dip_result):
    seg = dip_result.segments
    assert seg["kind"].tolist() == ["rest"] + ["pulse", "rest"] * 14
    truth = dip_record.attrs["truth"]
    pulses = seg[seg["kind"] == "pulse"]
    assert np.allclose(pulses["duration"], truth["t_pulse"], rtol=1e-9)
    assert np.allclose(pulses["current"], truth["current"], rtol=1e-9)
    # the segment boundaries are the simulator's steps
    assert (seg["start"].to_numpy() == np.flatnonzero(np.diff(np.r_[-1, dip_record["step"].to_numpy()]))).all()


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e6])
def test_segmentation_is_scale_free_and_tolerates_current_noise_and_glitches(scale):
    df = gitt_sequence(n_pulses=3, dx_pulse=0.05, t_pulse=10.0, t_rest=30.0, D=3e-15, points_pulse=30,
                       points_rest=30, current_noise=0.03, seed=1)
    i = df["i"].to_numpy() * scale
    i[45] = i[50]  # a one-sample switching glitch inside a rest
    seg = gitt.segment_pulses(df["t"].to_numpy(), i)
    assert seg["kind"].tolist() == ["rest"] + ["pulse", "rest"] * 3
    assert seg.attrs["levels"]["separation"] > 5


def test_D_recovered_within_10_percent_across_soc_by_the_sphere_fit(dip_record, dip_result):
    truth = pd.DataFrame(dip_record.attrs["truth"]["pulses"])
    p = dip_result.pulses
    assert (p["status"] == "ok").all()
    assert np.allclose(p["soc"], truth["soc_mid"], atol=1e-6)
    # each D belongs to the mean surface SOC of its pulse (ahead of the charge midpoint)
    d = dip_result.d_vs_soc()
    assert np.all((d["soc"] - p["soc"]) * np.sign(p["current"]) > 0)
    true = D_DIP(1 - d["soc"].to_numpy())
    ratio = d["D"].to_numpy() / true
    assert np.all(np.abs(ratio - 1) < 0.10), ratio
    assert np.mean(np.abs(ratio - 1)) < 0.05
    # the intervals (fit and OCV-slope errors) contain the truth for most pulses
    inside = (d["D_low"] <= true) & (true <= d["D_high"])
    assert inside.mean() >= 0.6
    # IR jump recovered (R_ohm = 100 MOhm: 1.3 mV at 13 pA)
    assert np.median(p["R_ohm"]) == pytest.approx(1e8, rel=0.1)
    # D vs SOC table and the Weppner-Huggins warning for long pulses
    table = dip_result.d_vs_soc()
    assert list(table.columns[:4]) == ["soc", "D", "D_low", "D_high"]
    assert all("sqrt(t) law is approximate" in n for n in p["note"])


def test_weppner_huggins_within_10_percent_across_soc_on_short_pulses():
    """Linear OCV (WH's assumption), t_p/tau ~ 5e-4: WH and the fit give D at three SOCs."""
    D = d_dip(1e-14, 7e-15, 0.5, 0.3)

    def ocv(x):
        return 4.3 - 0.6 * np.asarray(x)

    for x0 in (0.8, 0.5, 0.22):
        tau = R_P**2 / float(D(np.array([x0]))[0])
        df = gitt_sequence(n_pulses=2, dx_pulse=0.005, x0=x0, t_pulse=5e-4 * tau, t_rest=0.4 * tau, D=D,
                           ocv=ocv, radius=R_P, points_pulse=120, points_rest=60, noise=1e-5, seed=7)
        res = gitt.analyze(df, radius=R_P, capacity=df.attrs["truth"]["Q"], soc0=1 - x0)
        p = res.pulses
        for method in ("wh", "fit"):
            d = res.d_vs_soc(method)
            ratio = d["D"].to_numpy() / D(1 - d["soc"].to_numpy())
            assert np.all(np.abs(ratio - 1) < 0.10), (x0, method, ratio.tolist())
        # the window is chosen automatically and reported
        assert (p["window_hi"] > p["window_lo"]).all() and (p["window_n"] >= 5).all()


def test_ocv_curve_is_the_relaxed_potential_against_soc(dip_record, dip_result):
    ocv = dip_result.ocv
    assert len(ocv) == 15 and ocv["relaxed"].all()
    true = frumkin_ocv()(1 - ocv["soc"].to_numpy())
    assert np.max(np.abs(ocv["E"].to_numpy() - true)) < 5e-4


def test_without_radius_only_tau_and_with_relative_soc():
    df = gitt_sequence(n_pulses=3, dx_pulse=0.05, t_pulse=20.0, t_rest=100.0, D=3e-15, points_pulse=30,
                       points_rest=30, noise=1e-4, seed=4)
    res = gitt.analyze(df)
    assert res.pulses["D"].isna().all() and np.isfinite(res.pulses["tau"]).all()
    assert res.pulses["soc"].min() > 0 and res.pulses["soc"].max() < 1
    assert "relative" in res.info["soc_axis"]
    assert "give radius=" in res.summary()


def test_an_absolute_soc_axis_outside_0_to_1_is_warned_about():
    """A discharge analysed with the default soc0 = 0 (seen on a real BT-Lab export) runs below SOC 0: said."""
    import warnings

    from nbtools.errors import NbtoolsWarning

    df = gitt_sequence(n_pulses=3, dx_pulse=0.05, t_pulse=20.0, t_rest=100.0, D=3e-15, points_pulse=30,
                       points_rest=30, noise=1e-4, seed=4)
    charge = float(gitt.analyze(df).segments["charge"].sum())
    with pytest.warns(NbtoolsWarning, match="outside 0 to 1: set soc0"):
        gitt.analyze(df, capacity=abs(charge) * 5, soc0=0.0 if charge < 0 else 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NbtoolsWarning)
        res = gitt.analyze(df, capacity=abs(charge) * 5, soc0=0.5)
    assert "absolute" in res.info["soc_axis"]


def _write_eclab_gitt(path, df, decimal="."):
    """An EC-Lab GITT text export: header, the GITT technique line, EC-Lab's column labels, mA."""
    cols = ("mode\tox/red\terror\tcontrol changes\tNs changes\tcounter inc.\tNs\ttime/s\tcontrol/V/mA\tEwe/V\t"
            "I/mA\tdQ/C\t(Q-Qo)/mA.h\tQ charge/discharge/mA.h\tEce/V\tP/W\tx\t")
    header = [
        "EC-Lab ASCII FILE", "Nb header lines : {n}", "", "Galvanostatic Intermittent Titration Technique", "",
        "Run on channel : 3 (SN 20421)", "User : ", "CE vs. WE compliance from -10 V to 10 V",
        "Electrode connection : standard", "Potential control : Ewe", "Ewe ctrl range : min = 0.00 V, max = 5.00 V",
        "Safety Limits :", "	Ewe min = 3.0 V", "	Ewe max = 4.5 V", "Electrode material : LiMn2O4",
        "Mass of active material : 0.001 mg", "Battery capacity : 0.000 A.h",
        "Acquisition started on : 01/15/2024 10:12:31.000", "Loaded Setting File : NONE",
        "Saved on :", "	File : gitt_particle.mpr", "	Directory : C:\\Data\\", "Device : SP-300",
        "Ns                  0                   1", "ctrl_type           Rest                CC",
        cols,
    ]
    header[1] = header[1].format(n=len(header))
    step = df["step"].to_numpy()
    ns = np.where(step == 0, 0, np.where(step % 2 == 1, 1, 0))
    q = np.r_[0.0, np.cumsum(df["i"].to_numpy()[1:] * np.diff(df["t"].to_numpy()))]
    lines = []
    for k in range(len(df)):
        vals = [1 if ns[k] else 3, 1 if df["i"].iat[k] > 0 else 0, 0, int(k > 0 and step[k] != step[k - 1]), 0, 0,
                ns[k], df["t"].iat[k], df["i"].iat[k] * 1e3, df["E"].iat[k], df["i"].iat[k] * 1e3, 0.0,
                q[k] / 3.6, q[k] / 3.6, 0.0, df["E"].iat[k] * df["i"].iat[k], 0.0]
        text = "\t".join(f"{v:.7E}" if isinstance(v, float) else str(v) for v in vals) + "\t"
        lines.append(text.replace(".", ",") if decimal == "," else text)
    path.write_text("\r\n".join(header + lines) + "\r\n", encoding="latin-1")
    return path


@pytest.mark.parametrize("decimal", [".", ","])
def test_reads_and_segments_an_ec_lab_gitt_text_export(tmp_path, decimal):
    df = gitt_sequence(n_pulses=3, dx_pulse=0.05, t_pulse=10.0, t_rest=40.0, D=3e-15, points_pulse=30,
                       points_rest=30, noise=1e-4, seed=2)
    path = _write_eclab_gitt(tmp_path / "gitt_particle.mpt", df, decimal)
    rec = gitt.read(path)
    assert rec.attrs["format"] == "biologic-curve"
    assert rec.attrs["technique"] == "Galvanostatic Intermittent Titration Technique"
    assert np.allclose(rec["i"], df["i"], rtol=1e-6) and np.allclose(rec["E"], df["E"], atol=1e-6)
    res = gitt.analyze(path, radius=R_P)
    assert res.segments["kind"].tolist() == ["rest"] + ["pulse", "rest"] * 3
    ref = gitt.analyze(df, radius=R_P)
    assert np.allclose(res.pulses["D"], ref.pulses["D"], rtol=1e-3)


def test_bad_input_gets_a_message_naming_what_is_wrong(tmp_path):
    t = np.arange(50.0)
    with pytest.raises(ParameterError, match="one length"):
        gitt.from_arrays(t, t, t[:-1])
    with pytest.raises(DataError, match="single level"):
        gitt.analyze((t, np.ones(50), np.full(50, 1e-9)))
    with pytest.raises(DataError, match="time must increase"):
        gitt.analyze((t[::-1], np.ones(50), np.r_[np.zeros(25), np.ones(25)]))
    with pytest.raises(DataError, match="NaN"):
        gitt.from_arrays(t, np.r_[np.nan, np.ones(49)], np.ones(50))
    with pytest.raises(DataError, match="do(es)? not separate"):
        gitt.analyze((t, np.ones(50), np.random.default_rng(0).normal(1e-9, 3e-10, 50)))
    with pytest.raises(ParameterError, match="columns t"):
        gitt.analyze(pd.DataFrame({"time": t, "E": t, "i": t}))
    with pytest.raises(MissingFileError, match="no such file"):
        gitt.read(tmp_path / "nothing.mpt")
    with pytest.raises(ParameterError, match="unknown GITTRecipe setting"):
        gitt.analyze((t, t, t), radus=1e-6)
    with pytest.raises(ParameterError, match="window"):
        gitt.GITTRecipe(window=(0.2, 1.5))
    with pytest.raises(ParameterError, match="radius_err needs radius"):
        gitt.GITTRecipe(radius_err=1e-8)
    mpr = tmp_path / "run.mpr"
    mpr.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 40)
    try:
        import galvani  # noqa: F401
    except ImportError:
        with pytest.raises(FormatError, match="galvani"):
            gitt.read(mpr)
    with pytest.raises(ParameterError, match="1-D"):
        gitt.from_arrays(np.ones((5, 2)), t, t)
    cv = tmp_path / "cv.mpt"
    cv.write_text("EC-Lab ASCII FILE\nNb header lines : 5\n\nCyclic Voltammetry\ntime/s\tEwe/V\t<I>/mA\n"
                  + "".join(f"{k}\t{3.5 + k * 0.01}\t{k * 1e-6}\n" for k in range(20)), encoding="latin-1")
    with pytest.raises(FormatError, match="voltammogram"):
        gitt.read(cv)


def test_recipe_round_trips_through_json_and_reproduces_the_result(dip_record, dip_result):
    from nbtools.recipes import from_json

    r = dip_result.recipe
    again = from_json(r.to_json())
    assert again == r and again.kind == "gitt.analysis"
    res2 = gitt.analyze(dip_record, again)
    assert np.allclose(res2.pulses["D"], dip_result.pulses["D"])
    m = dip_result.mean_D()
    assert m["n"] == 14 and 3e-15 < m["D"] < 1e-14 and m["D_err"] > 0


def test_constant_voltage_holds_and_current_steps_are_not_taken_for_pulses():
    """A cycler protocol: rest, CC, CV hold (decaying current), rest, CC then a CC step to half the current."""
    t = np.arange(0, 400.0)
    i = np.zeros_like(t)
    i[20:60] = 1e-3
    i[60:120] = 1e-3 * np.exp(-(t[60:120] - 60) / 15)
    i[150:180] = -1e-3
    i[180:200] = -0.5e-3
    for noise in (0.0, 1e-5):
        cur = i + np.random.default_rng(0).normal(0, noise, i.size) if noise else i
        seg = gitt.segment_pulses(t, cur)
        assert seg["kind"].tolist() == ["rest", "pulse", "other", "rest", "pulse", "pulse", "rest"]
        assert seg["current"].iloc[5] == pytest.approx(-0.5e-3, rel=0.02)


def _write_btlab(path, df):
    """A BT-Lab (battery cycler) text export: 'BT-Lab ASCII FILE', Ecell/V, saved as .txt."""
    cols = "Ns changes\tNs\ttime/s\tEcell/V\tI/mA\t(Q-Qo)/mA.h\tcycle number\tP/W\t"
    header = ["BT-Lab ASCII FILE", "Nb header lines : {n}", "", "Modulo Bat", "",
              "Run on channel : A1 (SN 0001)", "Device : BCS-815 (SN 0001)", "Record Temperature",
              "ctrl_type           Rest                CC                  Rest", cols]
    header[1] = header[1].format(n=len(header))
    lines = [f"0\t{int(s.step) % 2}\t{s.t:.15E}\t{s.E:.7E}\t{s.i * 1e3:.7E}\t0.0\t0\t0.0\t"
             for s in df.itertuples()]
    path.write_text("\n".join(header + lines) + "\n", encoding="latin-1")
    return path


def test_reads_a_bt_lab_cycler_export_saved_as_txt(tmp_path):
    df = gitt_sequence(n_pulses=2, dx_pulse=0.05, t_pulse=10.0, t_rest=40.0, D=3e-15, points_pulse=30,
                       points_rest=30, seed=2)
    rec = gitt.read(_write_btlab(tmp_path / "cycler_CA1.txt", df))
    assert rec.attrs["columns"]["potential"] == "Ecell/V"
    assert np.allclose(rec["E"], df["E"], atol=1e-6)
    assert gitt.segment_pulses(rec["t"], rec["i"])["kind"].tolist() == ["rest", "pulse", "rest", "pulse", "rest"]


def test_io_load_routes_a_gitt_export_to_the_curve_reader(tmp_path):
    from nbtools.io import load, sniff_format
    from nbtools.io.sanity import technique_kind

    df = gitt_sequence(n_pulses=1, dx_pulse=0.05, t_pulse=10.0, t_rest=40.0, D=3e-15, points_pulse=20,
                       points_rest=20)
    path = _write_eclab_gitt(tmp_path / "g.mpt", df)
    assert sniff_format(path) == "biologic-curve"
    assert isinstance(load(path), pd.DataFrame)
    assert technique_kind("Galvanostatic Cycling with Potential Limitation") == "galvanostatic"
    assert technique_kind("Potentiostatic Intermittent Titration Technique") == "current-time"


def test_reads_a_gamry_chronopotentiometry_dta(tmp_path):
    from nbtools.io import sniff_format

    df = gitt_sequence(n_pulses=2, dx_pulse=0.05, t_pulse=10.0, t_rest=40.0, D=3e-15, points_pulse=30,
                       points_rest=30, seed=2)
    lines = ["EXPLAIN", "TAG\tCHRONOP", "TITLE\tLABEL\tChronopotentiometry Scan\tTest &Identifier",
             "PSTAT\tPSTAT\tREF600-12345\tPotentiostat", f"CURVE\tTABLE\t{len(df)}",
             "\tPt\tT\tVf\tIm\tVu\tSig\tIERange\tOver", "\t#\ts\tV vs. Ref.\tA\tV\tV\t#\tbits"]
    lines += [f"\t{k}\t{r.t:.6E}\t{r.E:.7E}\t{r.i:.7E}\t0\t0\t3\t..........." for k, r in enumerate(df.itertuples())]
    path = tmp_path / "CHRONOP.DTA"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    assert sniff_format(path) == "gamry-curve"
    rec = gitt.read(path)
    assert np.allclose(rec["E"], df["E"], atol=1e-6) and np.allclose(rec["i"], df["i"], rtol=1e-6)
    assert gitt.analyze(rec).segments["kind"].tolist() == ["rest", "pulse", "rest", "pulse", "rest"]


def test_rests_too_short_to_level_off_are_flagged_and_extrapolated():
    df = gitt_sequence(n_pulses=5, dx_pulse=0.04, x0=0.7, t_pulse=30.0, t_rest=25.0, D=3e-15, noise=5e-5, seed=1,
                       points_pulse=50, points_rest=50)
    res = gitt.analyze(df, radius=R_P, capacity=df.attrs["truth"]["Q"], soc0=0.3)
    assert not res.ocv["relaxed"].iloc[1:].any()  # 25 s is 0.075 r^2/D: a fifth of the relaxation is left
    true = frumkin_ocv()(1 - res.ocv["soc"].to_numpy())
    assert np.max(np.abs(res.ocv["E"] - true)) < np.max(np.abs(res.ocv["E_measured"] - true)) / 2
    assert np.all(np.abs(res.pulses["D"].iloc[:4] / 3e-15 - 1) < 0.10)
    assert "rest too short" in res.pulses["note"].iloc[1]


def test_a_study_runs_the_gitt_recipe_over_folders_and_equals_analyze(tmp_path):
    from nbtools.study import run

    recipe = gitt.GITTRecipe(radius=R_P)
    paths = {}
    for k, (name, D) in enumerate((("cold", 2e-15), ("warm", 6e-15))):
        (tmp_path / "in" / name).mkdir(parents=True)
        df = gitt_sequence(n_pulses=3, dx_pulse=0.04, x0=0.6, t_pulse=0.1 * R_P**2 / D, t_rest=0.5 * R_P**2 / D, D=D,
                           points_pulse=40, points_rest=40, noise=5e-5, seed=k)
        paths[name] = _write_eclab_gitt(tmp_path / "in" / name / "gitt.mpt", df)
    s = run(recipe, tmp_path / "in", out=tmp_path / "out", scheduler="sync", progress=False, report=False)
    assert s.technique == "gitt" and (s.files["status"] != "failed").all()
    pop = s.population
    assert len(pop) == 6 and sorted(pop["condition"].unique()) == ["cold", "warm"]
    for name, path in paths.items():
        ref = gitt.analyze(path, recipe)
        got = pop[pop["condition"] == name]
        assert np.allclose(got["D"].to_numpy(), ref.pulses["D"].to_numpy(), rtol=1e-9)
        row = s.files[s.files["condition"] == name].iloc[0]
        assert row["D_mean"] == pytest.approx(ref.mean_D()["D"], rel=1e-9)
