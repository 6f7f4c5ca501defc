"""Benchmark: each workshop notebook (and its solution) executed top to bottom in a fresh kernel.

Printed per notebook: the wall time from kernel start to the last cell, the CPU time the kernel used
(getrusage: imports, simulation, analysis, figures, the exercise checks), and the kernel's peak resident
memory (maxrss), the number to size a classroom server with (one kernel per open page).
Targets (issue 13): every notebook in under 60 s; in the notes (docs/workshop.md), memory per kernel.

Usage::

    python benchmarks/bench_workshop_notebooks.py [--solutions] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKSHOP = REPO / "notebooks" / "workshop"
PROBE = ("import resource, json; r = resource.getrusage(resource.RUSAGE_SELF); "
         "print(json.dumps({'cpu': r.ru_utime + r.ru_stime, 'rss_mib': r.ru_maxrss / 1024}))")


def run(path: Path) -> dict:
    import json

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    wall = time.perf_counter() - t0
    probe = json.loads(nb.cells[-1].outputs[0]["text"])
    return {"notebook": str(path.relative_to(REPO)), "wall_s": wall, **probe}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default: the four student notebooks)")
    ap.add_argument("--solutions", action="store_true", help="also run the solution notebooks")
    args = ap.parse_args(argv)
    os.environ["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")  # this checkout's nbtools
    paths = [Path(p).resolve() for p in args.notebooks] or sorted(WORKSHOP.glob("*.ipynb"))
    if args.solutions and not args.notebooks:
        paths += sorted((WORKSHOP / "solutions").glob("*.ipynb"))
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'notebook':<48} {'wall / s':>9} {'kernel CPU / s':>15} {'peak RSS / MiB':>15}")
    rows = [run(p) for p in paths]
    for r in rows:
        print(f"{r['notebook']:<48} {r['wall_s']:9.1f} {r['cpu']:15.1f} {r['rss_mib']:15.0f}")
    worst = max(rows, key=lambda r: r["wall_s"])
    print(f"slowest: {worst['notebook']} {worst['wall_s']:.1f} s (target < 60 s); "
          f"largest kernel {max(r['rss_mib'] for r in rows):.0f} MiB; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
