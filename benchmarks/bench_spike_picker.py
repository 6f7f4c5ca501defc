"""SpikePicker redraw after a threshold change vs a full find_events rerun.

Usage::

    .venv/bin/python benchmarks/bench_spike_picker.py            # 1e7 float32 samples
    .venv/bin/python benchmarks/bench_spike_picker.py --n 2e6

On a synthetic recording (nbtools.simulate.impact_trace, 100 kHz) it moves the
threshold slider to several values and prints, server side (no browser):

- preview redraw: the slider handler with the cached low-threshold candidates
  (filter + threshold band + markers + table + histograms + summary), what the
  user sees first; target < 0.3 s for 1e7 samples;
- preview + exact: the same followed by the exact find_events run (what
  happens for traces up to ``auto_refine`` samples);
- full rerun: find_events(trace, threshold=...) alone, the naive alternative,

and the ratio full rerun / preview redraw.
"""

from __future__ import annotations

import argparse
import statistics
import time

from nbtools.impact import find_events
from nbtools.impact.prepared import LOW_THRESHOLD
from nbtools.simulate import impact_trace
from nbtools.widgets.spike_picker import SpikePicker


def timed(func):
    t = time.perf_counter()
    func()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=float, default=1e7, help="number of samples (float32, 100 kHz)")
    ap.add_argument("--repeat", type=int, default=2, help="passes over the threshold values")
    args = ap.parse_args()
    fs = 100e3
    n = int(args.n)
    t = time.perf_counter()
    tr, truth = impact_trace(duration=n / fs, fs=fs, rate=5.0, polarity="both", seed=1)
    print(f"trace: {len(tr):,} samples float32, {len(truth)} true events (made in {time.perf_counter() - t:.1f} s)")

    t = time.perf_counter()
    sp = SpikePicker(tr, auto_refine=0)  # previews only: we time the exact run separately
    sp.widget  # build the ipywidgets / Bokeh models as in a notebook
    print(f"SpikePicker ready in {time.perf_counter() - t:.2f} s (find_events + widgets), "
          f"{len(sp.events)} events")

    t = time.perf_counter()
    sp.set_threshold(6.5)  # long-trace mode: the first move makes the low-threshold candidates
    print(f"first threshold move (candidate run at {LOW_THRESHOLD:g} sigma): {time.perf_counter() - t:.2f} s")
    values = [6.0, 8.0, 5.0, 12.0, 7.0, 9.5]
    preview, refine, full = [], [], []
    for _ in range(args.repeat):
        for v in values:
            preview.append(timed(lambda: sp.set_threshold(v)))
            assert sp.is_preview
            refine.append(preview[-1] + timed(sp.detect))
            full.append(timed(lambda: find_events(tr, threshold=v)))
    p, r, f = (statistics.median(x) for x in (preview, refine, full))
    print(f"preview redraw after a threshold change: median {p * 1e3:8.1f} ms  (max {max(preview) * 1e3:.1f} ms)"
          f"  target < 300 ms: {'OK' if p < 0.3 else 'MISSED'}")
    print(f"preview + exact find_events:             median {r * 1e3:8.1f} ms")
    print(f"full find_events rerun alone:            median {f * 1e3:8.1f} ms")
    print(f"speed-up of the redraw vs a full rerun:  {f / p:.1f}x")
    print(f"samples/s of the redraw: {n / p / 1e6:.0f} M/s, of find_events: {n / f / 1e6:.0f} M/s")


if __name__ == "__main__":
    main()
