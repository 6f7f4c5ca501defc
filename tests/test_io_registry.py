"""One reader registry for every kind (trace, scan, curve): listing, dispatch by content, errors, layering."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from nbtools import Trace, io
from nbtools.errors import FormatError, MissingFileError, ParameterError, UnitsError

IO_DIR = Path(io.__file__).parent

EXPECTED = {
    "abf": "trace", "chi": "trace", "gamry-dta": "trace", "gamry-xy": "trace", "biologic-mpt": "trace",
    "biologic-mpr": "trace", "tdms": "trace", "hdf5": "trace", "npy": "trace", "npz": "trace", "csv": "trace",
    "seccm-tdms": "scan", "seccm-netcdf": "scan", "seccm-columns": "scan", "seccm-folder": "scan",
    "curve-csv": "curve", "atf": "trace", "gamry-curve": "curve", "biologic-curve": "curve", "chi-curve": "curve",
}


# ---------------------------------------------------------------- writers of small files
def write_wecspm(path, *, n_landings=2, m=40):
    """A WEC-SPM-like TDMS: approach (2), contact (0) with a sweep, retract (3), lateral move (0)."""
    from nptdms import ChannelObject, TdmsWriter

    fb, x, v, i, line = [], [], [], [], []
    for k in range(n_landings):
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
    with TdmsWriter(str(path)) as w:
        w.write_segment([ChannelObject("Data", k, val) for k, val in chans.items()])
    return path


def write_columns(path, ny=2, nx=3, m=30, header=True):
    E = np.linspace(0.0, 0.5, m)
    cur = np.array([np.full(m, k + 1.0) for k in range(ny * nx)]).T
    head = ("E (mV)," + ",".join(f"I{k} (nA)" for k in range(ny * nx))) if header else ""
    np.savetxt(path, np.column_stack([E * 1e3, cur]), delimiter=",", header=head, comments="")
    return path


def write_folder(folder, m=25):
    folder.mkdir()
    for x in (0, 5):
        for y in (0, 5):
            E = np.linspace(-0.2, 0.4, m)
            np.savetxt(folder / f"pix_x{x}um_y{y}um.txt", np.column_stack([E, np.full(m, (x + y + 1) * 1e-12)]),
                       delimiter="\t", header="E/V\tI/A", comments="")
    return folder


def write_curve(path, sep=","):
    t = np.arange(20) * 0.01
    E = 0.1 + 0.01 * np.arange(20)
    rows = "".join(f"{a:g}{sep}{b:g}{sep}{c:g}\n" for a, b, c in zip(t, E * 1e3, np.sin(E) * 100))
    path.write_text(f"Time / s{sep}Potential / mV{sep}Current / pA\n" + rows)
    return path


# ---------------------------------------------------------------- the registry
def test_every_reader_is_listed_with_its_kind():
    df = io.list_formats()
    assert list(df.columns) == ["name", "kind", "description", "extensions", "options"]
    assert dict(zip(df["name"], df["kind"])) == EXPECTED
    assert set(io.KINDS) == {"trace", "scan", "curve"}
    assert list(io.list_formats("curve")["name"]) == ["curve-csv", "gamry-curve", "biologic-curve", "chi-curve"]
    assert "grid" in io.FORMATS["seccm-columns"].options
    assert io.list_formats("scan").set_index("name").loc["seccm-folder", "extensions"].startswith("folder")
    with pytest.raises(ParameterError, match="kind='image'"):
        io.list_formats("image")
    with pytest.raises(ValueError, match="kind="):
        io.ReaderInfo("x", "bad", (".x",), ".table", kind="image")


def test_reader_modules_stay_small():
    for p in IO_DIR.glob("*.py"):
        assert len(p.read_text().splitlines()) <= 500, p.name


# ---------------------------------------------------------------- dispatch by content
def test_load_dispatches_each_kind_by_content(tmp_path):
    from nbtools import seccm

    tdms = io.load(write_wecspm(tmp_path / "scan.tdms"), label=False)
    assert isinstance(tdms, xr.Dataset) and tdms.sizes["pixel"] == 2
    assert tdms.attrs["instrument"].startswith("WEC-SPM")
    folder = io.load(write_folder(tmp_path / "landings"), label=False)
    assert tuple(folder.attrs["grid_shape"]) == (2, 2)
    cols = io.load(write_columns(tmp_path / "cols.csv"), grid=(2, 3), dt=0.01, label=False)
    assert cols.sizes["pixel"] == 6 and cols.attrs["units_found_current"] == "nA"
    nc = seccm.save(cols, tmp_path / "cols.h5")  # .h5: the hdf5 trace reader's extension, the content wins
    xr.testing.assert_identical(io.load(nc), cols)
    curve = io.load(write_curve(tmp_path / "cv.dat"))
    assert isinstance(curve, pd.DataFrame) and list(curve.columns) == ["t", "E", "i"]
    assert curve.attrs["format"] == "curve-csv" and curve.attrs["units"]["potential"] == "mV"
    np.testing.assert_allclose(curve["E"].iloc[:2], [0.1, 0.11])
    trace = io.load(write_curve(tmp_path / "cv2.csv"), kind="trace")
    assert isinstance(trace, Trace) and trace.meta["format"] == "csv"
    # the format names come from the same choice
    assert [io.sniff_format(p) for p in (tmp_path / "scan.tdms", tmp_path / "landings", tmp_path / "cols.csv",
                                         nc, tmp_path / "cv.dat")] == [
        "seccm-tdms", "seccm-folder", "seccm-columns", "seccm-netcdf", "curve-csv"]


def test_trace_formats_by_content(tmp_path):
    chi = tmp_path / "run.dat"
    chi.write_text("Amperometric i-t Curve\nInit E (V) = 0.1\nSample Interval (s) = 0.1\n\nTime/sec, Current/A\n"
                   + "".join(f"{0.1 * k:.1f}, {k}e-9\n" for k in range(1, 30)))
    assert io.sniff_format(chi) == "chi" and io.load(chi).meta["format"] == "chi"
    npy = tmp_path / "x.bin"
    np.save(tmp_path / "x.npy", np.ones(10))
    (tmp_path / "x.npy").rename(npy)
    tr = io.load(npy, fs=10.0)
    assert isinstance(tr, Trace) and tr.meta["format"] == "npy"
    plain = tmp_path / "plain.txt"
    plain.write_text("t/s\tI/nA\n" + "".join(f"{0.1 * k:.1f}\t{k}\n" for k in range(20)))
    assert io.load(plain).meta["format"] == "csv"


def test_wecspm_tdms_is_a_scan_or_a_trace(tmp_path):
    p = write_wecspm(tmp_path / "scan.tdms")
    assert io.sniff_format(p) == "seccm-tdms" and io.sniff_format(p, kind="trace") == "tdms"
    tr = io.load_trace(p)
    assert isinstance(tr, Trace) and tr.meta["channel"] == "Data/Current1 (A)"
    ds = io.load_scan(p, label=False)
    np.testing.assert_allclose(np.nanmax(ds.current.values[1]), 1e-9)  # landing 2: 2 nA x 0.5 V
    np.testing.assert_allclose(ds.x.values, [0, 1e-5])


def test_real_files_keep_their_readers(realdata, tdms):
    assert io.sniff_format(tdms) == "seccm-tdms"
    assert io.load(tdms).sizes["pixel"] == 4
    for name, fmt in (("nanoimpact/AuNPs_NIE_gamry.txt", "gamry-xy"),
                      ("nanoimpact/beads_steps_chi760e.txt", "chi"), ("abf/File_axon_1.abf", "abf")):
        assert io.sniff_format(realdata / name) == fmt
        assert io.load(realdata / name).meta["format"] == fmt


def test_bundled_examples_by_content():
    data = Path(__file__).resolve().parents[1] / "data"
    assert io.sniff_format(data / "seccm_example.nc") == "seccm-netcdf"
    assert io.sniff_format(data / "particle_pitt.csv") == "curve-csv"
    assert io.sniff_format(data / "impact_example.csv") == "csv"


# ---------------------------------------------------------------- options, kinds, errors
def test_options_choose_between_readers_and_are_explained(tmp_path):
    p = write_columns(tmp_path / "bare.csv", header=False)  # no header: a plain table
    assert io.sniff_format(p) == "csv"
    with pytest.raises(ParameterError, match=r"grid not understood by the csv reader.*seccm-columns"):
        io.load(p, grid=(2, 3))
    assert io.load(p, kind="scan", grid=(2, 3), label=False).sizes["pixel"] == 6
    assert io.load(p, format="seccm-columns", grid=(2, 3), label=False).sizes["pixel"] == 6


def test_kind_and_format_errors(tmp_path):
    p = write_curve(tmp_path / "cv.csv")
    with pytest.raises(ParameterError, match="kind='movie'"):
        io.load(p, kind="movie")
    with pytest.raises(ParameterError, match="format 'abf' reads traces, not scans"):
        io.load(p, kind="scan", format="abf")
    with pytest.raises(ParameterError, match="reads folders"):
        io.load(p, format="seccm-folder")
    with pytest.raises(MissingFileError, match="folder"):
        io.load_curve(tmp_path)
    with pytest.raises(MissingFileError, match="no such file or folder"):
        io.load(tmp_path / "nothing")
    odd = tmp_path / "a.xyz"
    odd.write_bytes(b"\x00\x01binary")
    with pytest.raises(FormatError, match="unknown SECCM file type '.xyz'.*seccm-tdms"):
        io.load_scan(odd)
    with pytest.raises(FormatError, match="format not recognised"):
        io.load(odd)


def test_folder_without_positions_is_a_format_error(tmp_path):
    (tmp_path / "a.txt").write_text("1\t2\n3\t4\n")
    with pytest.raises(FormatError, match="no file name gives a position"):
        io.load(tmp_path)


def test_plugin_sniffer_may_take_the_path(tmp_path, monkeypatch):
    import types

    from nbtools.io import _registry

    seen = []
    mod = types.ModuleType("nbtools_test_plugin3")
    mod.sniff = lambda head, text, path: seen.append(path) or (3 if path.suffix == ".zz" else 0)
    mod.read = lambda path: pd.DataFrame({"t": [0.0], "E": [0.0], "i": [0.0]})
    monkeypatch.setitem(sys.modules, "nbtools_test_plugin3", mod)
    monkeypatch.setattr(_registry, "_FORMATS", dict(_registry._FORMATS))
    monkeypatch.setattr("nbtools.io._load._FORMATS", _registry._FORMATS)
    io.register_reader(io.ReaderInfo("zz", "test curves", (".zz",), "nbtools_test_plugin3", kind="curve"))
    p = tmp_path / "a.zz"
    p.write_text("anything")
    assert io.load(p).attrs["format"] == "zz" and seen == [p]
    with pytest.raises(FormatError, match=r"format not recognised.*content says it is a curve \(zz\)"):
        io.load_trace(p)  # a curve reader is never used for a trace; the error names it


# ---------------------------------------------------------------- layering
def _module_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions) by one file of nbtools.io."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = "nbtools.io" if node.level == 1 else "nbtools" if node.level == 2 else ""
            mod = f"{base}.{node.module}" if base and node.module else base or node.module
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_io_imports_no_analysis_package_at_import_time():
    for p in IO_DIR.glob("*.py"):
        bad = {m for m in _module_imports(p) if m.startswith(("nbtools.seccm", "nbtools.impact", "nbtools.stick",
                                                              "nbtools.kinetics", "nbtools.widgets"))}
        assert not bad, f"{p.name} imports {bad} at module level"
    code = ("import sys, nbtools.io as io, nbtools.io.seccm_tdms, nbtools.io.seccm_text, nbtools.io.seccm_netcdf, "
            "nbtools.io.curve_csv; io.list_formats(); "
            "print(sorted(m for m in sys.modules if m.startswith(('nbtools.seccm', 'nbtools.stick'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_import_cycle_inside_io():
    graph = {}
    for p in IO_DIR.glob("*.py"):
        name = "nbtools.io" if p.stem == "__init__" else f"nbtools.io.{p.stem}"
        graph[name] = {m for m in _module_imports(p) if m in {f"nbtools.io.{q.stem}" for q in IO_DIR.glob("*.py")}}
    state = {}

    def visit(n, stack):
        state[n] = "open"
        for m in graph.get(n, ()):
            assert state.get(m) != "open", f"import cycle: {' -> '.join(stack + [m])}"
            if m not in state:
                visit(m, stack + [m])
        state[n] = "done"

    for n in graph:
        if n not in state:
            visit(n, [n])


# ---------------------------------------------------------------- curves and scans through the shared table reader
def test_curve_with_decimal_comma_and_comments(tmp_path):
    p = tmp_path / "cv.txt"
    rows = "".join(f"{0.5 * k:.1f}".replace(".", ",") + f";{k}".replace(".", ",") + f";{k},5\n" for k in range(8))
    p.write_text("# particle 3, 10 mV/s\nt (s);E (mV);I [nA]\n" + rows)
    df = io.load(p)
    assert df.attrs["columns"] == {"time": "t (s)", "potential": "E (mV)", "current": "I [nA]"}
    np.testing.assert_allclose(df["i"].iloc[:2], [0.5e-9, 1.5e-9])
    np.testing.assert_allclose(df["E"].iloc[-1], 7e-3)


def test_curve_errors_name_the_file_and_columns(tmp_path):
    from nbtools.errors import DataError

    p = tmp_path / "x.csv"
    p.write_text("Time / s,Current / pA\n" + "".join(f"{k},{k}\n" for k in range(9)))
    with pytest.raises(FormatError, match=r"x.csv: found columns \['Time / s', 'Current / pA'\].*no potential"):
        io.load_curve(p)
    p.write_text("Time / s,Potential / V,Current / pA\n0,0,1\n1,1,2\n")
    with pytest.raises(DataError, match="x.csv: fewer than 5 numeric rows"):
        io.load_curve(p)


def test_scan_columns_with_semicolons_and_decimal_commas(tmp_path):
    p = tmp_path / "scan.txt"
    E = np.linspace(-0.2, 0.2, 12)
    rows = "".join(";".join(f"{v:.4f}".replace(".", ",") for v in (e * 1e3, 1.0 * k, 2.0, 3.0, 4.0)) + "\n"
                   for k, e in enumerate(E))
    p.write_text("E_ref (mV);I1 (pA);I2 (pA);I3 (pA);I4 (pA)\n" + rows)
    assert io.sniff_format(p) == "seccm-columns"
    ds = io.load(p, grid=(2, 2), potential_column="E", dt=0.1, label=False)
    np.testing.assert_allclose(ds.potential.values, E, atol=1e-7)
    assert float(ds.current.sel(pixel=0).values[3]) == pytest.approx(3e-12)


def test_old_seccm_names_still_work(tmp_path):
    from nbtools import seccm
    from nbtools.seccm import readers, wecspm_tdms

    p = write_wecspm(tmp_path / "s.tdms")
    xr.testing.assert_identical(seccm.read_wecspm_tdms(p, label=False), io.load(p, label=False))
    assert readers.read_netcdf is io.FORMATS["seccm-netcdf"]._mod().read_netcdf
    assert wecspm_tdms.derived_scan_rate(np.linspace(0, 1, 101), np.linspace(0, 10, 101))[0] == pytest.approx(0.1)


def test_a_reader_of_the_wrong_kind_says_what_the_file_is(tmp_path):
    from nbtools import seccm

    ds = io.load(write_columns(tmp_path / "c.csv"), grid=(2, 3), dt=0.01, label=False)
    nc = seccm.save(ds, tmp_path / "scan.nc")
    with pytest.raises(UnitsError, match=r"'V'.*override\. The file's content says it is a scan \(seccm-netcdf\)"):
        io.load_trace(nc)  # the hdf5 trace reader takes any HDF5 file, tries and fails
    with pytest.raises(ParameterError, match=r"grid=\(ny, nx\).*content says it is a curve \(curve-csv\)"):
        io.load_scan(write_curve(tmp_path / "cv.csv"))
    with pytest.raises(FormatError, match=r"unknown SECCM file type.*these\.$"):  # plain text: no hint
        (tmp_path / "notes.md").write_text("hello\n")
        io.load_scan(tmp_path / "notes.md")
