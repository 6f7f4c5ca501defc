"""Fuzz every reader with thousands of mutated files and print what happened.

    python benchmarks/fuzz_readers.py [--n 3000] [--seed 10] [--jobs 2] [--timeout 5]

Seeds of every format (traces, SECCM scans, curves; the bundled data/
examples and, when ../shared/realdata exists, copies of real files) are
mutated (:mod:`nbtools.io.fuzzing`: truncations, byte flips, header
corruption, huge declared sizes, a 300,000-field line, wrong extensions,
encodings, NaN/Inf, shuffled lines, spliced files). Each file is read in a
forked child (so a hang can be stopped and its memory measured alone):

- outcome: ``ok``, ``nbtools:<ErrorClass>`` or ``other:<ExceptionClass>`` (a bug);
- hangs: children still running after ``--timeout`` seconds (killed);
- peak memory: the child's maximum resident set above an idle child's;
- modified inputs: SHA-256 and mtime of every file before and after.

The issue's target: 0 other exceptions, 0 hangs over 5 s, 0 peaks over 1 GB,
0 modified inputs. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import resource
import select
import signal
import sys
import tempfile
import time
from pathlib import Path

# children are forked from a warm parent: GNU OpenMP (numba's default layer here) refuses fork()
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nbtools.io.fuzz_seeds import write_seeds  # noqa: E402
from nbtools.io.fuzzing import digest, mutants, outcome  # noqa: E402

GB = 1 << 30


def _warm(seeds):
    """Import everything a reader may import and read every seed once (numba compiles), so that a child's
    time and memory are the reading alone."""
    import h5py  # noqa: F401
    import nptdms  # noqa: F401
    import pandas  # noqa: F401
    import pyabf  # noqa: F401
    import xarray  # noqa: F401

    import nbtools.seccm  # noqa: F401
    from nbtools.io import FORMATS

    from nbtools.io.fuzzing import Mutant

    for info in FORMATS.values():
        info._mod()
    for s in seeds:
        outcome(Mutant(s.path, s, "none", True, dict(s.options)))


def _spawn(m):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            st, msg = outcome(m)
        except BaseException as exc:  # noqa: BLE001 - reported, never raised
            st, msg = f"other:{type(exc).__name__}", str(exc)[:300]
        os.write(w, json.dumps([st, msg]).encode()[:60000])
        os.close(w)
        os._exit(0)
    os.close(w)
    return pid, r


def _idle_rss():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    _, _, ru = os.wait4(pid, 0)
    return ru.ru_maxrss * 1024


def run(ms, *, jobs, timeout):
    base = _idle_rss()
    results = []
    queue = list(ms)
    running = {}
    while queue or running:
        while queue and len(running) < jobs:
            m = queue.pop(0)
            before = digest(m.path)
            pid, fd = _spawn(m)
            running[pid] = (m, fd, time.monotonic(), before, bytearray())
        fds = {v[1]: pid for pid, v in running.items()}
        ready, _, _ = select.select(list(fds), [], [], 0.05)
        for fd in ready:
            chunk = os.read(fd, 65536)
            running[fds[fd]][4].extend(chunk)
        now = time.monotonic()
        for pid in list(running):
            m, fd, t0, before, buf = running[pid]
            done, status, ru = os.wait4(pid, os.WNOHANG)
            hung = not done and now - t0 > timeout
            if hung:
                os.kill(pid, signal.SIGKILL)
                done, status, ru = os.wait4(pid, 0)
            if not done:
                continue
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf.extend(chunk)
            os.close(fd)
            del running[pid]
            try:
                st, msg = json.loads(bytes(buf).decode()) if buf else ("other:ChildDied", f"status {status}")
            except ValueError:
                st, msg = "other:ChildDied", f"status {status}"
            if hung:
                st, msg = "hang", f"over {timeout} s"
            results.append(dict(file=m.path.name, fmt=m.seed.fmt, mutation=m.mutation, forced=m.forced,
                                status=st, message=msg, seconds=now - t0,
                                peak=max(0, ru.ru_maxrss * 1024 - base), modified=digest(m.path) != before))
    return results


def report(results, seeds_modified, wall):
    by = collections.Counter(r["status"] for r in results)
    print(f"\n{len(results)} mutated files read in {wall:.0f} s")
    print("outcomes:")
    for k, v in sorted(by.items()):
        print(f"  {k:32s} {v}")
    other = [r for r in results if r["status"].startswith("other")]
    hangs = [r for r in results if r["status"] == "hang"]
    slow = sorted(results, key=lambda r: -r["seconds"])[:5]
    peak = max(results, key=lambda r: r["peak"])
    big = [r for r in results if r["peak"] > GB]
    modified = [r for r in results if r["modified"]]
    wrapped = collections.Counter(
        m.group(1) for r in results for m in [re.search(r"the reader found (\w+)", r["message"])] if m)
    print(f"library exceptions wrapped at the reader boundary (nbtools FormatError, file and exception named): "
          f"{sum(wrapped.values())}" + (" (" + ", ".join(f"{k} {v}" for k, v in wrapped.most_common()) + ")"
                                        if wrapped else ""))
    print(f"exceptions outside nbtools.errors: {len(other)}")
    for r in other[:20]:
        print(f"    {r['file']} ({r['fmt']}, {r['mutation']}, forced={r['forced']}): {r['status']} "
              f"{r['message'][:160]}")
    print(f"hangs over the timeout: {len(hangs)}")
    for r in hangs[:20]:
        print(f"    {r['file']}")
    print("slowest: " + ", ".join(f"{r['file']} {r['seconds']:.2f} s" for r in slow))
    print(f"peak memory: {peak['peak'] / 2**20:.0f} MiB above an idle child ({peak['file']}); over 1 GiB: {len(big)}")
    print(f"modified inputs: {len(modified) + seeds_modified}")
    by_fmt = collections.defaultdict(collections.Counter)
    for r in results:
        by_fmt[r["fmt"]][r["status"].split(":")[0]] += 1
    print("by seed format (ok / nbtools error / other / hang):")
    for fmt, c in sorted(by_fmt.items()):
        print(f"  {fmt:16s} {c['ok']:5d} {c['nbtools']:5d} {c['other']:5d} {c['hang']:5d}")
    return not (other or hangs or big or modified or seeds_modified)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata"))
    args = ap.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with tempfile.TemporaryDirectory() as d:
        seeds = write_seeds(Path(d) / "seeds", data_dir=ROOT / "data", real_dir=args.realdata, small=False)
        seed_digests = {s.path: digest(s.path) for s in seeds}
        _warm(seeds)
        ms = mutants(seeds, args.n, Path(d) / "mutants", seed=args.seed)
        print(f"{len(seeds)} seeds ({', '.join(sorted({s.fmt for s in seeds}))}), {len(ms)} mutants, "
              f"{args.jobs} at a time, timeout {args.timeout} s")
        t0 = time.monotonic()
        results = run(ms, jobs=args.jobs, timeout=args.timeout)
        seeds_modified = sum(digest(p) != h for p, h in seed_digests.items())
        ok = report(results, seeds_modified, time.monotonic() - t0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
