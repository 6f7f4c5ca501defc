"""PixelSelector: server-side response to a new selection on a large SECCM scan.

Usage::

    .venv/bin/python benchmarks/bench_pixel_selector.py                 # 200 x 200 x 1000 (target < 0.2 s)
    .venv/bin/python benchmarks/bench_pixel_selector.py --n 60 --samples 500

The widget is built and displayed as in a notebook (its jupyter_bokeh model
exists, so every Bokeh change is serialised for the browser inside the
timing). A selection arrives exactly as the browser sends it: a ``jsevent``
message into the jupyter_bokeh model (deserialised, validated by Bokeh, then
the Python callbacks run). Reported per selection:

- total: wall time of handling that message (what the server spends);
- callback: the widget's own part (``.last_response_s``): statistics (one
  numba pass over the selected rows), at most 50 curves, group means and
  bands, and serialising the plot changes.

Naive alternative, measured in the same run: the mean and band from
:func:`nbtools.seccm.group_stats` (copy + nanmean/nanstd) and every selected
curve put into the plot.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="grid size n x n (default 200)")
    ap.add_argument("--samples", type=int, default=1000, help="samples per voltammogram (default 1000)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--naive-repeat", type=int, default=2)
    args = ap.parse_args(argv)

    from nbtools import seccm
    from nbtools.simulate import seccm_scan
    from nbtools.widgets import PixelSelector

    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    t = time.perf_counter()
    ds, truth = seccm_scan(args.n, args.n, args.samples, seed=1)
    print(f"scan {args.n} x {args.n} x {args.samples} ({ds.current.nbytes / 1e6:.0f} MB current) "
          f"simulated in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    sel = PixelSelector(ds)
    sel.widget  # the jupyter_bokeh model: changes are serialised from now on
    print(f"PixelSelector built and displayed in {time.perf_counter() - t:.1f} s (includes the charge map)")

    n = ds.sizes["pixel"]
    ix, iy = ds.ix.values, ds.iy.values
    part = np.flatnonzero(truth["particle"][iy, ix])
    k = args.n
    cases = {
        "box 10 x 10": np.flatnonzero((ix < 10) & (iy < 10)),
        "one particle-sized lasso (~300 px)": part[:300],
        "all particles (classify size)": part,
        "a quarter of the map": np.flatnonzero((ix < k // 2) & (iy < k // 2)),
        "the whole map": np.arange(n),
    }
    bm = next(c for c in sel.widget.children if type(c).__name__ == "BokehModel")
    sel_id = sel.source.selected.id

    def deliver(indices):
        """The browser's message for a new selection (box, lasso or tap) into the kernel."""
        content = {"event": "jsevent", "kind": "ModelChanged", "model": {"id": sel_id}, "attr": "indices",
                   "new": list(indices)}
        bm._sync_model(bm, content, [])

    print(f"\n{'selection':38s} {'pixels':>7s} {'total s':>8s} {'callback s':>10s} {'naive s':>8s} {'ratio':>6s}")
    results = {}
    for name, idx in cases.items():
        idx = idx.tolist()
        tt, tc = [], []
        for _ in range(args.repeat):
            deliver([0])  # a different selection first: each run is a new one
            t0 = time.perf_counter()
            deliver(idx)
            tt.append(time.perf_counter() - t0)
            tc.append(sel.last_response_s)
        tw, tcb = float(np.median(tt)), float(np.median(tc))

        def naive():
            g = seccm.group_stats(ds, np.asarray(idx))
            rows = np.asarray(idx)
            xs = [ds.potential.values] * len(rows)
            ys = list(ds.current.values[rows])
            sel.curve_view.show_curves(xs, ys)
            return g

        tn = _median_time(naive, args.naive_repeat) if len(idx) <= 12000 else float("nan")
        sel.curve_view.show_curves([], [])
        results[name] = (tw, tcb)
        ratio = f"{tn / tcb:6.1f}" if np.isfinite(tn) else "     -"
        print(f"{name:38s} {len(idx):7d} {tw:8.3f} {tcb:10.3f} {tn:8.3f} {ratio}")
    worst = max(results.items(), key=lambda kv: kv[1][1])
    print(f"\nslowest callback: {worst[1][1]:.3f} s ({worst[0]}; target < 0.2 s server side); "
          f"total incl. Bokeh's handling of the index list: {worst[1][0]:.3f} s")
    print("naive = group_stats + every selected curve sent (skipped above 12,000 pixels: tens of MB to the "
          "browser); ratio = naive / callback")

if __name__ == "__main__":
    main()
