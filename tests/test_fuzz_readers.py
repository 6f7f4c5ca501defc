"""Fuzzing: a few hundred mutated files of every format; only nbtools errors, no modified input, bounded memory.

The seeded generator is :mod:`nbtools.io.fuzzing` (seeds: :mod:`nbtools.io.fuzz_seeds`,
small synthetic files, trimmed data/ examples and, when present, one real ABF).
``benchmarks/fuzz_readers.py`` runs thousands in forked children.
"""

from __future__ import annotations

import collections
import signal
import time
from pathlib import Path

import pytest

from nbtools.io.fuzz_seeds import write_seeds
from nbtools.io.fuzzing import MUTATIONS, digest, mutants, outcome

DATA = Path(__file__).resolve().parents[1] / "data"
N_FILES = 400
PEAK_LIMIT = 512 * 2**20  # bytes of resident memory above the level before each file
PER_FILE_S = 10.0


def _hwm() -> int | None:
    """Peak resident memory of this process (bytes) since the last reset, or None off Linux."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    real = Path(__file__).resolve().parents[2] / "shared" / "realdata"
    seeds = write_seeds(d / "seeds", data_dir=DATA, real_dir=real, small=True)
    ms = mutants(seeds, N_FILES, d / "mutants", seed=20261205)
    return seeds, ms


def test_every_format_is_seeded(fuzzed):
    seeds, ms = fuzzed
    from nbtools.io import FORMATS

    formats = {s.fmt for s in seeds}
    missing = {name for name, info in FORMATS.items() if not info.folder} - formats
    assert not missing, f"formats without a fuzz seed: {missing}"
    assert {m.mutation for m in ms} == set(MUTATIONS)
    assert {s.kind for s in seeds} == {"trace", "scan", "curve"}


def test_mutated_files_give_only_nbtools_errors(fuzzed):
    seeds, ms = fuzzed
    seed_hashes = {s.path: digest(s.path) for s in seeds}
    old = signal.signal(signal.SIGALRM, _alarm)
    outcomes = collections.Counter()
    other, modified, slow, heavy = [], [], [], []
    t_all = time.monotonic()
    try:
        for m in ms:
            before = digest(m.path)
            can_measure = _reset_hwm()
            start = _hwm() if can_measure else None
            signal.alarm(int(PER_FILE_S))
            t0 = time.monotonic()
            try:
                status, message = outcome(m)
            except _Timeout:
                status, message = "hang", f"over {PER_FILE_S} s"
            finally:
                signal.alarm(0)
            took = time.monotonic() - t0
            outcomes[status] += 1
            if status.startswith("other") or status == "hang":
                other.append((m.path.name, m.mutation, status, message))
            if digest(m.path) != before:
                modified.append(m.path.name)
            if took > 5.0:
                slow.append((m.path.name, round(took, 1)))
            if start is not None and (_hwm() or 0) - start > PEAK_LIMIT:
                heavy.append((m.path.name, ((_hwm() or 0) - start) >> 20))
    finally:
        signal.signal(signal.SIGALRM, old)
    assert not other, f"exceptions outside nbtools.errors: {other[:10]}"
    assert not modified, f"inputs modified by reading: {modified}"
    assert not [s for s, h in seed_hashes.items() if digest(s) != h]
    assert not slow, f"files taking over 5 s: {slow}"
    assert not heavy, f"files needing over {PEAK_LIMIT >> 20} MiB: {heavy}"
    # the mutations are not all harmless and not all fatal: the readers were exercised both ways
    assert outcomes["ok"] > 20 and sum(v for k, v in outcomes.items() if k.startswith("nbtools:")) > 100
    assert time.monotonic() - t_all < 240


def test_same_seed_same_files(tmp_path):
    seeds = write_seeds(tmp_path / "s", small=True)[:5]
    a = mutants(seeds, 12, tmp_path / "a", seed=3)
    b = mutants(seeds, 12, tmp_path / "b", seed=3)
    assert [m.path.read_bytes() for m in a] == [m.path.read_bytes() for m in b]
    assert [m.path.name for m in a] == [m.path.name for m in b]
