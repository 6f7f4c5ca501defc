"""Folders of seeded synthetic recordings for the study tests (not a test module)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
FS = 20_000.0


def _trace(seed, duration, rate, fs=FS):
    from nbtools.simulate import impact_trace

    tr, _ = impact_trace(duration=duration, fs=fs, rate=rate, seed=seed)
    return np.asarray(tr.current, dtype=np.float64)


def write_npz(path, current, fs=FS):
    np.savez(path, current=current, fs=fs)


def write_csv(path, current, fs=FS):
    t = np.arange(current.size) / fs
    np.savetxt(path, np.c_[t, current / 1e-12], delimiter=",", header="Time / s,Current / pA", comments="",
               fmt="%.9g")


def write_npy(path, current):
    np.save(path, current.astype(np.float32))


def impact_folder(root: Path, *, duration=2.0, seed=0) -> Path:
    """``root/10pM`` and ``root/20pM``: recordings in three formats, a blank per folder, a corrupt file and a
    voltammogram (another kind of data). Rates follow the concentration (5 and 10 events/s)."""
    root = Path(root)
    for k, (cond, rate) in enumerate((("10pM", 5.0), ("20pM", 10.0))):
        d = root / cond
        d.mkdir(parents=True, exist_ok=True)
        base = seed + 10 * k
        write_npz(d / "rec_a.npz", _trace(base + 1, duration, rate))
        write_csv(d / "rec_b.csv", _trace(base + 2, duration, rate))
        write_npy(d / "rec_c.npy", _trace(base + 3, duration, rate))
        write_npz(d / "blank.npz", _trace(base + 4, duration, 0.0))
    (root / "20pM" / "broken.npz").write_bytes((DATA / "impact_example.npz").read_bytes()[:3000])
    shutil.copy(DATA / "particle_cv_1mVs.csv", root / "10pM" / "particle_cv_1mVs.csv")
    return root


def many_recordings(root: Path, n: int, *, duration=10.0, fs=50_000.0, seed=100) -> Path:
    """``n`` recordings of ``duration`` s (.npz) in ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_npz(root / f"rec_{i:02d}.npz", _trace(seed + i, duration, 5.0, fs), fs)
    return root
