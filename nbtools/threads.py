"""numba settings shared by the modules that define parallel (``prange``) kernels.

Dask's local process pool and ``multiprocessing`` fork the Python process. The
GNU OpenMP runtime that numba picks by default on Linux aborts a forked child
that runs a parallel kernel ("fork() called from a process already using GNU
OpenMP"), so nbtools asks numba for a fork-safe threading layer (TBB where it is
installed, numba's own work queue otherwise) before its first parallel kernel
runs. A ``NUMBA_THREADING_LAYER`` set by the user is left alone.
"""

from __future__ import annotations

import os

import numba

__all__ = ["use_fork_safe_threads"]


def use_fork_safe_threads() -> None:
    """Choose numba's fork-safe threading layer unless the user chose one (idempotent)."""
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "forksafe"
