"""Small files of every format nbtools reads, written like the instruments write them: seeds for fuzzing.

:func:`write_seeds` writes, into a folder, one or more files per registered
format (traces, SECCM scans, curves), copies of the bundled ``data/`` examples
(trimmed when ``small=True``), files that must be refused (a voltammogram and an
impedance spectrum as traces, ``.npz`` archives with ``dt=0``, text, complex,
boolean or pickled currents, an HDF5 dataset declaring 8 GiB with no data) and,
when a folder of real files is given, those. Each seed records how to load it
(:class:`Seed`). Used by ``tests/test_fuzz_readers.py`` and
``benchmarks/fuzz_readers.py``; nothing here is needed to read files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Seed", "write_seeds"]

_FS = 50.0
_N = 400


@dataclass(frozen=True)
class Seed:
    """A seed file: its path, the format it is in, the kind and the options that read it."""

    path: Path
    fmt: str
    kind: str
    options: dict = field(default_factory=dict)


def _current(n=_N, seed=0):
    rng = np.random.default_rng(seed)
    return 1e-9 * (1.0 + 0.1 * rng.standard_normal(n))


def _text(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def _csv(d):
    t = np.arange(_N) / _FS
    rows = "".join(f"{a:.6f},{b / 1e-12:.4f}\n" for a, b in zip(t, _current()))
    yield Seed(_text(d / "trace.csv", "Time / s,Current / pA\n" + rows), "csv", "trace")
    rows = "".join(f"{a:.4f};{b / 1e-9:.6f}\n".replace(".", ",") for a, b in zip(t, _current(seed=1)))
    yield Seed(_text(d / "trace_semicolon.txt", "Zeit (s);I (nA)\n" + rows, "latin-1"), "csv", "trace")
    yield Seed(_text(d / "trace_nofs.dat", "current_pA\n" + "".join(f"{b / 1e-12:.3f}\n" for b in _current())),
               "csv", "trace", {"fs": _FS})


def _chi(d):
    head = ("Nov. 24, 2026   10:11:12\nAmperometric i-t Curve\nFile: C:\\data\\run1.bin\n"
            "Instrument Model:  CHI660E\nInit E (V) = -0.25\nSample Interval (s) = 0.02\nRun Time (sec) = 8\n"
            "Quiet Time (sec) = 2\nSensitivity (A/V) = 1e-8\n\nTime/sec, Current/A\n\n")
    rows = "".join(f"{(k + 1) / _FS:.5e}, {c:.5e}\n" for k, c in enumerate(_current()))
    yield Seed(_text(d / "chi_it.txt", head + rows), "chi", "trace")
    head = ("Nov. 24, 2026   10:11:12\nCyclic Voltammetry\nInstrument Model:  CHI660E\nInit E (V) = 0\n"
            "High E (V) = 0.5\nLow E (V) = 0\nScan Rate (V/s) = 0.1\nSample Interval (V) = 0.001\n"
            "Sensitivity (A/V) = 1e-6\n\nPotential/V, Current/A\n\n")
    E = np.r_[np.linspace(0, 0.5, 200), np.linspace(0.5, 0, 200)]
    yield Seed(_text(d / "chi_cv.txt", head + "".join(f"{e:.3f}, {1e-7 * e:.4e}\n" for e in E)), "chi-curve", "curve")


def _dta(tag, tables, header=()):
    lines = ["EXPLAIN", f"TAG\t{tag}", "TITLE\tLABEL\tSynthetic\tTest &Identifier",
             "PSTAT\tPSTAT\tREF600-12345\tPotentiostat", *header]
    for name, cols, units, rows in tables:
        lines += [f"{name}\tTABLE\t{len(rows)}", "\t" + "\t".join(cols), "\t" + "\t".join(units)]
        lines += ["\t" + "\t".join(r) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def _gamry(d):
    cur = _current()
    rows = [[str(k), f"{k / _FS:.6E}", "3.00010E-001", f"{c:.8E}", "0", ".........."] for k, c in enumerate(cur)]
    yield Seed(_text(d / "CHRONOA.DTA", _dta("CHRONOA", [("CURVE", ["Pt", "T", "Vf", "Im", "IERange", "Over"],
                                                          ["#", "s", "V vs. Ref.", "A", "#", "bits"], rows)],
                                             [f"SAMPLETIME\tQUANT\t{1 / _FS:.5E}\tSample &Period (s)"]),
                     "cp1252"), "gamry-dta", "trace")
    vfp = ["VFP600", "TAG\tVFP600", "FREQ\tQUANT\t1.50000E+1\tAcquisition Frequency (Hz)", "",
           "VFPCURVE\tTABLE", "\tVoltage\tCurrent", "\tV\tA"] + [f"\t{0.2:.6E}\t{c:.6E}" for c in cur]
    yield Seed(_text(d / "VFP600.DTA", "\r\n".join(vfp) + "\r\n"), "gamry-dta", "trace")
    E = np.r_[np.linspace(-0.2, 0.6, 100), np.linspace(0.6, -0.2, 100)]
    rows = [[str(k), f"{k * 0.01:.6E}", f"{e:.6E}", f"{1e-6 * e:.6E}"] for k, e in enumerate(E)]
    yield Seed(_text(d / "CV.DTA", _dta("CV", [("CURVE1", ["Pt", "T", "Vf", "Im"], ["#", "s", "V vs. Ref.", "A"],
                                                 rows)])), "gamry-curve", "curve")
    f = np.logspace(5, -1, 60)
    rows = [[str(k), f"{k:.3E}", f"{v:.5E}", f"{100 + 1e3 / (1 + v):.5E}", f"{-50.0:.5E}"] for k, v in enumerate(f)]
    yield Seed(_text(d / "EISPOT.DTA", _dta("EISPOT", [("ZCURVE", ["Pt", "Time", "Freq", "Zreal", "Zimag"],
                                                         ["#", "s", "Hz", "ohm", "ohm"], rows)])), "gamry-dta", "trace")
    xy = "".join(f"{k / _FS:.6e}\t{c:.6e}\r\n" for k, c in enumerate(cur))
    yield Seed(_text(d / "xy.txt", "XY\r\n\tCURVE (run1.DTA)\r\n" + xy), "gamry-xy", "trace")


def _mpt(d):
    def file(technique, cols, rows):
        head = ["EC-Lab ASCII FILE", "Nb header lines : 7", "", technique, "", "Device : SP-300", "\t".join(cols)]
        return "\n".join(head + ["\t".join(r) for r in rows]) + "\n"
    cols = ["mode", "ox/red", "time/s", "control/V", "Ewe/V", "<I>/mA", "(Q-Qo)/mA.h", "I Range"]
    rows = [["2", "1", f"{k / _FS:.15E}", "3.0E-001", "2.999E-001", f"{c / 1e-3:.15E}", "0", "41"]
            for k, c in enumerate(_current())]
    yield Seed(_text(d / "ca.mpt", file("Chronoamperometry / Chronocoulometry", cols, rows), "cp1252"),
               "biologic-mpt", "trace")
    E = np.r_[np.linspace(0, 0.8, 150), np.linspace(0.8, 0, 150)]
    rows = [["2", "1", f"{k * 0.05:.6E}", f"{e:.4E}", f"{e:.4E}", f"{e * 1e-3:.6E}", "0", "41"]
            for k, e in enumerate(E)]
    yield Seed(_text(d / "cv.mpt", file("Cyclic Voltammetry", cols, rows).replace(".", ",")), "biologic-curve",
               "curve")


def _mpr(d):
    """An EC-Lab .mpr shell: magic and one module header (read with galvani when installed)."""
    magic = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\x00" * 4
    body = b"\x00" * 200
    module = (b"MODULE" + b"VMP data  " + b"Data".ljust(25) + len(body).to_bytes(4, "little")
              + (0).to_bytes(4, "little") + b"01/01/26" + body)
    (d / "x.mpr").write_bytes(magic + module)
    yield Seed(d / "x.mpr", "biologic-mpr", "trace")


def _atf(d):
    n, sweeps = 200, 3
    t = np.arange(n) / 1000.0
    rng = np.random.default_rng(3)
    titles = ['"Time (s)"'] + [f'"Trace #{k + 1} ({u})"' for k in range(sweeps) for u in ("pA", "mV")]
    head = ["ATF\t1.0", f"3\t{1 + 2 * sweeps}", '"AcquisitionMode=Episodic Stimulation"',
            '"SweepStartTimesMS=0.000,500.000,1000.000"',
            '"Signals="\t' + "\t".join('"IN 0"\t"IN 1"' for _ in range(sweeps)), "\t".join(titles)]
    rows = ["\t".join([f"{a:.4f}"] + [f"{v:.3f}" for _ in range(sweeps) for v in (rng.normal(20, 2), -60.0)])
            for a in t]
    yield Seed(_text(d / "episodic.atf", "\r\n".join(head + rows) + "\r\n"), "atf", "trace")


def _binary(d):
    cur = _current()
    np.save(d / "x.npy", cur)
    yield Seed(d / "x.npy", "npy", "trace", {"fs": _FS})
    np.savez(d / "x.npz", current=cur / 1e-9, fs=_FS, current_unit="nA")
    yield Seed(d / "x.npz", "npz", "trace")
    np.savez_compressed(d / "t.npz", i=cur, time=np.arange(_N) / _FS)
    yield Seed(d / "t.npz", "npz", "trace")
    for name, kw in [("dt0", dict(current=cur, dt=0.0)), ("dtfast", dict(current=cur, dt="fast")),
                     ("text", dict(current=np.array(["a", "b", "c"]), fs=_FS)),
                     ("complex", dict(current=cur + 1j * cur, fs=_FS)), ("bool", dict(current=cur > 1e-9, fs=_FS)),
                     ("nan", dict(current=np.r_[cur[:10], np.nan, cur[10:]], fs=_FS))]:
        np.savez(d / f"bad_{name}.npz", **kw)
        yield Seed(d / f"bad_{name}.npz", "npz", "trace")
    np.savez(d / "bad_pickle.npz", current=np.array([{"a": 1}, None], dtype=object), fs=_FS)
    yield Seed(d / "bad_pickle.npz", "npz", "trace")
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        return
    with h5py.File(d / "x.h5", "w") as f:
        ds = f.create_dataset("run1/current", data=cur)
        ds.attrs["units"] = "A"
        ds.attrs["sampling_rate"] = _FS
    yield Seed(d / "x.h5", "hdf5", "trace")
    with h5py.File(d / "t.h5", "w") as f:
        f.create_dataset("current_pA", data=cur / 1e-12, compression="gzip")
        f.create_dataset("time", data=np.arange(_N) / _FS)
    yield Seed(d / "t.h5", "hdf5", "trace")
    with h5py.File(d / "bomb.h5", "w") as f:  # 8 GiB declared, nothing stored
        ds = f.create_dataset("current", shape=(1 << 30,), dtype="f8", chunks=(1 << 16,), compression="gzip")
        ds.attrs["units"] = "A"
        ds.attrs["fs"] = 1e4
    yield Seed(d / "bomb.h5", "hdf5", "trace")


def _tdms(d):
    from nptdms import ChannelObject, GroupObject, TdmsWriter

    cur = _current()
    with TdmsWriter(str(d / "x.tdms")) as w:
        w.write_segment([GroupObject("G"), ChannelObject("G", "V (V)", np.full(_N, 0.2)),
                         ChannelObject("G", "Current (A)", cur, properties={"wf_increment": 1 / _FS}),
                         ChannelObject("G", "note", np.array(["a"] * 3))])
    yield Seed(d / "x.tdms", "tdms", "trace")
    fb, x, v, i, line = [], [], [], [], []
    m = 40
    for k in range(2):
        sweep = np.linspace(-0.5, 0.5, m)
        fb += [2] * 5 + [0] * m + [3] * 4 + [0] * 3
        x += [10.0 * k] * (5 + m + 4) + [10.0 * k + 5] * 3
        v += [-0.5] * 5 + list(sweep) + [-0.5] * 7
        i += [2e-10] * 5 + list(1e-9 * (k + 1) * sweep) + [2e-10] * 7
        line += [k] * (5 + m + 7)
    n = len(fb)
    chans = {"X (um)": np.array(x), "Y (um)": np.zeros(n), "Z (um)": np.ones(n), "V1 (V)": np.array(v),
             "V2 (V)": np.zeros(n), "Current1 (A)": np.array(i), "FeedbackType ": np.array(fb, float),
             "Line Number": np.array(line, float), "dt(s)": np.full(n, 0.01)}
    with TdmsWriter(str(d / "wecspm.tdms")) as w:
        w.write_segment([ChannelObject("Data", k, val) for k, val in chans.items()])
    yield Seed(d / "wecspm.tdms", "seccm-tdms", "scan")


def _abf(d):
    try:
        from pyabf.abfWriter import writeABF1
    except ImportError:  # pragma: no cover - pyabf is a dependency
        return
    rng = np.random.default_rng(5)
    writeABF1(rng.normal(0, 5, (3, 2000)).astype(np.float32), str(d / "episodic.abf"), sampleRateHz=10000.0,
              units="pA")
    yield Seed(d / "episodic.abf", "abf", "trace")


def _scan_and_curve(d):
    E = np.linspace(0.0, 0.5, 30)
    cur = np.array([np.full(30, k + 1.0) for k in range(6)]).T
    np.savetxt(d / "columns.csv", np.column_stack([E * 1e3, cur]), delimiter=",",
               header="E (mV)," + ",".join(f"I{k} (nA)" for k in range(6)), comments="")
    yield Seed(d / "columns.csv", "seccm-columns", "scan", {"grid": (2, 3)})
    from .scan import build_scan
    from .seccm_netcdf import save

    ds = build_scan(cur.T * 1e-9, E, grid=(2, 3), dt=0.01, label=False)
    save(ds, d / "scan.nc")
    yield Seed(d / "scan.nc", "seccm-netcdf", "scan")
    t = np.arange(60) * 0.01
    rows = "".join(f"{a:g},{100 + a * 100:g},{np.sin(a) * 50:g}\n" for a in t)
    yield Seed(_text(d / "curve.csv", "Time / s,Potential / mV,Current / pA\n" + rows), "curve-csv", "curve")


def _bundled(d, data_dir, small):
    """Copies of data/ (trimmed when small)."""
    if data_dir is None or not Path(data_dir).is_dir():
        return
    data_dir = Path(data_dir)
    for name, fmt, kind, opts in [("impact_example.csv", "csv", "trace", {}),
                                  ("impact_example.npz", "npz", "trace", {}),
                                  ("impact_blank.npz", "npz", "trace", {}),
                                  ("particle_pitt.csv", "curve-csv", "curve", {}),
                                  ("particle_cv_1mVs.csv", "curve-csv", "curve", {}),
                                  ("seccm_example.nc", "seccm-netcdf", "scan", {})]:
        src = data_dir / name
        if not src.is_file():
            continue
        dst = d / f"data_{name}"
        if small and name.endswith(".csv"):
            dst.write_bytes(b"".join(src.read_bytes().splitlines(keepends=True)[:1500]))
        elif small and name.endswith(".npz"):
            with np.load(src) as z:
                np.savez(dst, **{k: (z[k][:20000] if z[k].ndim else z[k]) for k in z.files})
        elif small and name.endswith(".nc"):
            continue
        else:
            shutil.copyfile(src, dst)
        yield Seed(dst, fmt, kind, opts)


def _real(d, real_dir, small):
    """Real instrument files (read only, copied into the fuzz folder), when the folder exists."""
    if real_dir is None or not Path(real_dir).is_dir():
        return
    real = Path(real_dir)
    wanted = [("abf/2020_06_16_0000.abf", "abf", "trace")]
    if not small:
        wanted += [("abf/18425108_abf1.abf", "abf", "trace"), ("abf/File_axon_1.abf", "abf", "trace"),
                   ("nanoimpact/AuNPs_blank_gamry.txt", "gamry-xy", "trace"),
                   ("nanoimpact/beads_steps_chi760e.txt", "chi", "trace"),
                   ("seccm/wecspm_x22500_y-4500.tdms", "seccm-tdms", "scan")]
    for rel, fmt, kind in wanted:
        src = real / rel
        if src.is_file():
            dst = d / f"real_{src.name}"
            shutil.copyfile(src, dst)
            yield Seed(dst, fmt, kind)


def write_seeds(folder, *, data_dir=None, real_dir=None, small=True) -> list[Seed]:
    """Write the seed files into ``folder`` (created) and return them.

    Parameters
    ----------
    data_dir : path, optional
        The bundled ``data/`` folder (its examples are copied, trimmed when ``small``).
    real_dir : path, optional
        A folder of real files (``../shared/realdata``): copies are fuzzed, the originals never touched.
    small : bool
        Small seeds only (a quick test); False adds the full examples and real files.
    """
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    seeds = []
    for make in (_csv, _chi, _gamry, _mpt, _mpr, _atf, _binary, _tdms, _abf, _scan_and_curve):
        seeds += list(make(d))
    seeds += list(_bundled(d, data_dir, small))
    seeds += list(_real(d, real_dir, small))
    return seeds
