"""Reader throughput: lazy ABF open vs pyabf's full load, and CSV parsing speed.

Usage::

    .venv/bin/python benchmarks/bench_io.py            # 2 GiB ABF, 100 MB CSV
    .venv/bin/python benchmarks/bench_io.py --gb 0.25 --csv-mb 20 --skip-pyabf

The ABF is written sparsely (header from pyabf's writer, counts patched, file
extended with truncate), so creating it costs no real writes. pyabf's full load
is measured on a separate, smaller file (--pyabf-gb, default 0.25 GiB): on the
2 GiB file it took 159 s and a peak RSS of ~21 GB on the 2-core development
machine, too much to run by default on a shared box.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from nbtools.io import load_trace


def make_big_abf(path: Path, n_samples: int, fs: float = 100_000.0) -> Path:
    from pyabf.abfWriter import writeABF1

    writeABF1(np.linspace(-50, 50, 4096)[np.newaxis, :], str(path), sampleRateHz=fs, units="pA")
    with open(path, "r+b") as fh:
        for offset, fmt, value in [(8, "<h", 3), (10, "<i", n_samples), (16, "<i", 1), (138, "<i", n_samples)]:
            fh.seek(offset)
            fh.write(struct.pack(fmt, value))
        fh.truncate(2048 + 2 * n_samples)
    return path


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def bench_abf(tmp: Path, gb: float, pyabf_gb: float, skip_pyabf: bool):
    n = int(gb * 2**30) // 2
    path = make_big_abf(tmp / "big.abf", n)
    size_mb = path.stat().st_size / 2**20
    t_open, tr = best_of(lambda: load_trace(path))
    print(f"ABF {size_mb:,.0f} MB ({n:,} int16 samples, {tr.duration / 3600:.2f} h at {tr.fs:g} Hz)")
    print(f"  nbtools load_trace (memory map)      : {t_open * 1e3:8.2f} ms   lazy={tr.is_lazy}")
    t = time.perf_counter()
    total = 0.0
    for _, block in tr.chunks(1 << 22):
        total += float(block.sum(dtype=np.float64))
    t_stream = time.perf_counter() - t
    print(f"  stream all samples as A (chunks)     : {t_stream:8.2f} s    {size_mb / t_stream:,.0f} MB/s of file")
    path.unlink()
    if not skip_pyabf:
        import pyabf

        n = int(pyabf_gb * 2**30) // 2
        path = make_big_abf(tmp / "small.abf", n)
        t_open, _ = best_of(lambda: load_trace(path))
        t = time.perf_counter()
        abf = pyabf.ABF(str(path))
        t_py = time.perf_counter() - t
        del abf
        print(f"ABF {path.stat().st_size / 2**20:,.0f} MB for the comparison with pyabf")
        print(f"  nbtools load_trace (memory map)      : {t_open * 1e3:8.2f} ms")
        print(f"  pyabf.ABF full load                  : {t_py:8.2f} s")
        print(f"  ratio pyabf / nbtools open           : {t_py / t_open:,.0f}x")
        path.unlink()


def bench_csv(tmp: Path, mb: float):
    rng = np.random.default_rng(0)
    rows = int(mb * 2**20 / 25)  # ~25 bytes per row
    path = tmp / "big.csv"
    t = np.arange(rows) / 10_000.0
    i = 1e-10 + 1e-12 * rng.standard_normal(rows)
    with open(path, "w") as fh:
        fh.write("Time (s),Current / pA\n")
        step = 1_000_000
        for k in range(0, rows, step):
            block = np.column_stack([t[k:k + step], i[k:k + step] / 1e-12])
            np.savetxt(fh, block, fmt=["%.6f", "%.8e"], delimiter=",")
    size_mb = path.stat().st_size / 2**20
    t_load, tr = best_of(lambda: load_trace(path), repeat=2)
    print(f"CSV {size_mb:,.0f} MB ({rows:,} rows)")
    print(f"  nbtools load_trace (pandas C parser) : {t_load:8.2f} s    {size_mb / t_load:,.0f} MB/s   fs={tr.fs:g} Hz")
    # the naive alternative: the csv module and float() per cell, on a tenth of the file, scaled up
    tenth = rows // 10
    t0 = time.perf_counter()
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        vals = []
        for k, row in enumerate(reader):
            if k >= tenth:
                break
            vals.append((float(row[0]), float(row[1])))
    t_naive = (time.perf_counter() - t0) * rows / max(tenth, 1)
    print(f"  naive csv.reader + float() (scaled)  : {t_naive:8.2f} s    {size_mb / t_naive:,.0f} MB/s")
    print(f"  ratio naive / nbtools                : {t_naive / t_load:.1f}x")
    path.unlink()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=2.0, help="size of the ABF in GiB")
    ap.add_argument("--csv-mb", type=float, default=100.0, help="size of the CSV in MB")
    ap.add_argument("--pyabf-gb", type=float, default=0.25, help="size of the ABF loaded by pyabf, GiB")
    ap.add_argument("--skip-pyabf", action="store_true", help="do not run pyabf's full load")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nbtools-bench-"))
    try:
        bench_abf(tmp, args.gb, args.pyabf_gb, args.skip_pyabf)
        bench_csv(tmp, args.csv_mb)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
