"""Traitlets for widget state that ipywidgets does not have: a set of pixel indices, an xarray result."""

from __future__ import annotations

import numpy as np
import traitlets

__all__ = ["PixelIndices", "Result"]


class PixelIndices(traitlets.TraitType):
    """Sorted unique pixel indices (int64 NumPy array); observers fire only when the set changes.

    (An ``Any`` trait holding arrays would notify on every assignment: arrays
    do not compare to one bool.)
    """

    default_value = np.zeros(0, dtype=np.int64)
    info_text = "pixel indices"

    def validate(self, obj, value):
        try:
            a = np.unique(np.asarray(value, dtype=np.int64).ravel())
        except (TypeError, ValueError):
            self.error(obj, value)
        a.setflags(write=False)
        return a

    def set(self, obj, value):
        new = self._validate(obj, value)
        old = obj._trait_values.get(self.name, self.default_value)
        obj._trait_values[self.name] = new
        if not np.array_equal(old, new):
            obj._notify_trait(self.name, old, new)


class Result(traitlets.Instance):
    """An xarray result (DataArray, Dataset) or None; observers fire whenever a new object is set.

    (``Instance`` compares with ``==``, which xarray answers element-wise: a
    Dataset would even compare "equal" to None and never notify.)
    """

    def set(self, obj, value):
        new = self._validate(obj, value)
        old = obj._trait_values.get(self.name, self.default_value)
        obj._trait_values[self.name] = new
        if old is not new:
            obj._notify_trait(self.name, old, new)
