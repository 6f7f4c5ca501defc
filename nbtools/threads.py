"""Thread settings: numba's threading layer, and the size of nbtools' own thread pools.

Dask's local process pool and ``multiprocessing`` fork the Python process. The
GNU OpenMP runtime that numba picks by default on Linux aborts a forked child
that runs a parallel kernel ("fork() called from a process already using GNU
OpenMP"), so nbtools asks numba for a fork-safe threading layer (TBB where it is
installed, numba's own work queue otherwise) before its first parallel kernel
runs. A ``NUMBA_THREADING_LAYER`` set by the user is left alone.

:func:`resolve_workers` sizes nbtools' own thread pools (``workers=`` of
:func:`nbtools.impact.find_events` and :func:`~nbtools.impact.prepare`):
the argument, else ``NBTOOLS_NUM_THREADS``, else every usable core.
"""

from __future__ import annotations

import os

import numba

__all__ = ["use_fork_safe_threads", "resolve_workers", "available_cores", "NUM_THREADS_ENV"]


def use_fork_safe_threads() -> None:
    """Choose numba's fork-safe threading layer unless the user chose one (idempotent)."""
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "forksafe"


#: environment variable with the default number of threads of nbtools' own thread pools
NUM_THREADS_ENV = "NBTOOLS_NUM_THREADS"


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers=None) -> int:
    """Threads to use: ``workers`` (a positive int), else the environment variable
    ``NBTOOLS_NUM_THREADS``, else every CPU this process may run on.

    Raises :class:`~nbtools.errors.ParameterError` for anything but a positive whole number.
    """
    from .errors import ParameterError

    where = "workers"
    if workers is None:
        text = os.environ.get(NUM_THREADS_ENV, "").strip()
        if not text:
            return available_cores()
        where, workers = NUM_THREADS_ENV, text
    try:
        n = int(workers)
        ok = n >= 1 and float(workers) == n and not isinstance(workers, bool)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"{where} must be a positive whole number of threads (1 = serial), "
                             f"found {workers!r}")
    return n
