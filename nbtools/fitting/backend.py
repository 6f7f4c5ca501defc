"""Array backends of the batch engine: NumPy (always) and CuPy (optional, a GPU)."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["array_namespace", "gpu_available"]

BACKENDS = ("auto", "numpy", "cupy")


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy
    except Exception:  # not installed, or its CUDA libraries are missing
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver / no device
        return False


def array_namespace(backend="auto", *, gpu_ok=True):
    """``(xp, name)``: the array module for ``backend`` ("auto", "numpy" or "cupy").

    "auto" takes CuPy when a GPU is present and the model has an array form
    (``gpu_ok``), NumPy otherwise. "cupy" without a GPU, or for a model that only
    runs on the CPU, raises ParameterError saying so.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, found {backend!r}")
    if backend == "numpy" or (backend == "auto" and not gpu_ok):
        return np, "numpy"
    if backend == "auto":
        if gpu_available():
            import cupy

            return cupy, "cupy"
        return np, "numpy"
    if not gpu_ok:
        raise ParameterError("backend='cupy': this model is evaluated by NumPy/numba code on the CPU only; "
                             "use backend='numpy' (or 'auto')")
    if not gpu_available():
        raise ParameterError("backend='cupy' needs CuPy and a CUDA GPU, and none was found; "
                             "use backend='numpy' (or 'auto')")
    import cupy

    return cupy, "cupy"
