"""Batched least squares: fit thousands of curves at once (CPU, optional GPU).

Public API
----------
fit_batch
    One kinetics model fitted to many curves; the table of :func:`nbtools.batch.fit_many`.
least_squares_batch, BatchLSQ, STATUS_CODES
    The engine: Levenberg-Marquardt over a batch with per-curve damping, bounds and convergence.
batch_model, BatchModel
    Batch forms ``f(x, P) -> (n_curves, n_points)`` of the registry models.
array_namespace, gpu_available
    NumPy or CuPy.
"""

from .backend import array_namespace, gpu_available
from .driver import batch_template, curves_to_arrays, fit_batch
from .lm import STATUS_CODES, BatchLSQ, least_squares_batch
from .models import BatchModel, batch_model

__all__ = ["fit_batch", "least_squares_batch", "BatchLSQ", "STATUS_CODES", "batch_model", "BatchModel",
           "array_namespace", "gpu_available", "curves_to_arrays", "batch_template"]
