"""Write the bundled example recordings of data/ (reproducible: seeded, NumPy only).

Run from anywhere:  python data/make_examples.py

Files written next to this script (each < 1 MB):

- ``impact_example.csv``: a synthetic nanoimpact recording, 10 kHz, 4 s,
  comma-separated with the header ``Time / s,Current / pA``.
- ``impact_example.npz``: a longer one, 10 kHz, 15 s; arrays ``current``
  (float32), scalars ``fs`` (Hz) and ``t0`` (s), and ``current_unit`` ("A").
- ``impact_example_events.csv``: the ground truth of both recordings
  (file, time of each spike in s, peak current in A, charge in C).
- ``impact_blank.npz``: a blank for the nanoimpact dashboard (same electrode
  and noise, no particles), 10 kHz, 10 s, same layout as the npz above.

The recordings imitate oxidative ("blip") impacts of nanoparticles at a
microelectrode: a baseline of a few pA with a slow drift, low-pass filtered
white noise (3 pA rms), and spikes with a fast rise and an exponential decay
(0.3-2 ms), anodic (positive) as in IUPAC convention.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def impact_recording(duration: float, fs: float, *, rate: float, seed: int):
    """Current (A) and the true events of a synthetic blip-type impact recording.

    Returns
    -------
    current : numpy.ndarray
        float64, amperes.
    events : list of tuple
        (time s, peak current A, charge C) of each spike.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration * fs))
    t = np.arange(n) / fs
    baseline = 5e-12 + 2e-12 * np.sin(2 * np.pi * t / duration)
    # white noise through a one-pole low-pass at ~2 kHz, rescaled to 3 pA rms
    white = rng.normal(0.0, 1.0, n)
    a = np.exp(-2 * np.pi * 2000.0 / fs)
    noise = np.empty(n)
    acc = 0.0
    for i in range(n):  # short example files: a plain loop is fine here
        acc = a * acc + (1 - a) * white[i]
        noise[i] = acc
    noise *= 3e-12 / noise.std()

    n_events = rng.poisson(rate * duration)
    times = np.sort(rng.uniform(0.05 * duration, 0.95 * duration, n_events))
    peaks = np.exp(rng.uniform(np.log(30e-12), np.log(300e-12), n_events))
    taus = rng.uniform(0.3e-3, 2e-3, n_events)
    spikes = np.zeros(n)
    events = []
    for t_ev, peak, tau in zip(times, peaks, taus):
        i0 = int(np.ceil(t_ev * fs))
        k = np.arange(0, min(int(12 * tau * fs), n - i0))
        dt = (i0 + k) / fs - t_ev
        spikes[i0:i0 + len(k)] += peak * (1 - np.exp(-dt / 1e-4)) * np.exp(-dt / tau)
        # charge of peak*(1-exp(-t/r))*exp(-t/tau) integrated to infinity
        charge = peak * (tau - 1.0 / (1.0 / tau + 1.0 / 1e-4))
        events.append((float(t_ev), float(peak), float(charge)))
    return baseline + noise + spikes, events


def main() -> None:
    fs = 10_000.0
    cur_csv, ev_csv = impact_recording(4.0, fs, rate=3.0, seed=1)
    time = np.arange(len(cur_csv)) / fs
    np.savetxt(
        HERE / "impact_example.csv",
        np.column_stack([time, cur_csv * 1e12]),
        fmt=["%.4f", "%.3f"],
        delimiter=",",
        header="Time / s,Current / pA",
        comments="",
    )
    cur_npz, ev_npz = impact_recording(15.0, fs, rate=2.0, seed=2)
    np.savez_compressed(
        HERE / "impact_example.npz",
        current=cur_npz.astype(np.float32),
        fs=np.float64(fs),
        t0=np.float64(0.0),
        current_unit=np.array("A"),
    )
    with open(HERE / "impact_example_events.csv", "w", encoding="utf-8") as fh:
        fh.write("file,time_s,peak_A,charge_C\n")
        for name, events in (("impact_example.csv", ev_csv), ("impact_example.npz", ev_npz)):
            for t_ev, peak, charge in events:
                fh.write(f"{name},{t_ev:.6f},{peak:.6e},{charge:.6e}\n")
    write_blank(fs)
    for f in sorted(HERE.glob("impact_*")):
        print(f"{f.name:<28} {f.stat().st_size / 1e3:8.1f} kB")


def write_blank(fs: float = 10_000.0) -> None:
    """``impact_blank.npz``: the example's noise and baseline without particles."""
    cur, events = impact_recording(10.0, fs, rate=0.0, seed=3)
    assert not events
    np.savez_compressed(
        HERE / "impact_blank.npz",
        current=cur.astype(np.float32),
        fs=np.float64(fs),
        t0=np.float64(0.0),
        current_unit=np.array("A"),
    )


if __name__ == "__main__":
    main()
