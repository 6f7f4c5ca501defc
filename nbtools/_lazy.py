"""Lazy package attributes (PEP 562): a name's module is imported on first access.

Keeps ``import nbtools`` light: Bokeh, ipywidgets, numba, lmfit... load only when a
name that needs them is used.
"""

from __future__ import annotations

from importlib import import_module

__all__ = ["lazy_module"]


def lazy_module(package, where=None, *, submodules=()):
    """Module-level ``__getattr__`` and ``__dir__`` for a package with lazy attributes.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict, optional
        Attribute name -> the submodule defining it, relative to ``package``
        (``{"SpikePicker": "spike_picker"}`` resolves ``package.SpikePicker`` as
        ``package.spike_picker.SpikePicker``).
    submodules : iterable of str
        Submodules of ``package`` given as attributes themselves (``nbtools.io``).

    Returns
    -------
    (__getattr__, __dir__, __all__)
        Assign them in the package's ``__init__`` (the convention of
        scientific-python's ``lazy_loader.attach``). ``__all__`` is the sorted
        names; an unknown name raises AttributeError naming the package.

    Examples
    --------
    >>> __getattr__, __dir__, __all__ = lazy_module(__name__, {"seccm_scan": "seccm"})  # doctest: +SKIP
    """
    where = dict(where or {})
    submodules = frozenset(submodules)
    names = sorted(set(where) | submodules)

    def __getattr__(name):
        if name in where:
            return getattr(import_module(f".{where[name]}", package), name)
        if name in submodules:
            return import_module(f".{name}", package)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return list(names)

    return __getattr__, __dir__, list(names)
