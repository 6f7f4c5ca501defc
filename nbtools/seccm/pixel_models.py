"""The voltammogram models a per-pixel fit can use: ``CouplesCV`` and every model of the potential E.

:func:`pixel_models` lists them from :data:`nbtools.kinetics.MODELS` (entries
whose independent variable is the potential ``E``) plus ``'CouplesCV'``
(:class:`~nbtools.seccm.cv_model.CouplesCVModel`), with the options each one
takes (``couples``, ``sampling``). The per-pixel fit recipe checks its model
against this list and user interfaces build their menus from it: nothing
branches on a model name.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError

__all__ = ["PixelModel", "pixel_models", "get_pixel_model"]


@dataclass(frozen=True)
class PixelModel:
    """One model usable per pixel.

    Attributes
    ----------
    name : str
        ``'CouplesCV'`` or a key of :data:`nbtools.kinetics.MODELS`.
    description : str
        One line.
    options : tuple of str
        Settings of :class:`~nbtools.seccm.recipe.PixelFitRecipe` the model
        reads besides the common ones: ``'couples'``, ``'sampling'``.
    has_background : bool
        The model includes the double-layer charging current (fit the whole
        cycle); models without it need a window around one couple and get the
        capacitive line subtracted first.
    """

    name: str
    description: str
    options: tuple
    has_background: bool

    def make_model(self, *, couples=2, sampling=None):
        """The lmfit model of this entry with its options."""
        if self.name == COUPLES:
            from .cv_model import CouplesCVModel

            return CouplesCVModel(couples=couples, sampling=sampling or "point")
        from ..kinetics import MODELS

        entry = MODELS[self.name]
        return entry.make_model() if sampling is None else entry.make_model(sampling=sampling)

    def param_info(self, *, couples=2):
        """Parameter name -> :class:`~nbtools.kinetics.ParamInfo` (unit, default, vary)."""
        model = self.make_model(couples=couples)
        return {p: model.param_info(p) for p in model.param_names}

    def label(self, *, couples=2, sampling=None):
        """The name results show: ``'CouplesCV(2)'``, ``'LavironCV, average'`` ..."""
        base = f"{self.name}({couples})" if "couples" in self.options else self.name
        return base + (", average" if sampling == "average" else "")


#: the whole-cycle model of SECCM landings (Laviron couples + double-layer charging)
COUPLES = "CouplesCV"


def pixel_models() -> dict:
    """Models usable per pixel: name -> :class:`PixelModel` (``'CouplesCV'`` first).

    Examples
    --------
    >>> from nbtools.seccm import pixel_models
    >>> [name for name in pixel_models()][:3]
    ['CouplesCV', 'FrumkinCV', 'LavironCV']
    """
    from ..kinetics import MODELS
    from .cv_model import CouplesCVModel

    out = {COUPLES: PixelModel(COUPLES, "Laviron couples sharing ks and alpha plus double-layer charging, "
                                        "over the whole cycle", ("couples", "sampling"),
                               bool(getattr(CouplesCVModel, "has_background", True)))}
    for name, entry in MODELS.items():
        if name in out or "E" not in entry.independent_vars:
            continue
        model = entry.make_model()
        opts = ("sampling",) if hasattr(model, "sampling") else ()
        out[name] = PixelModel(name, entry.description, opts, bool(getattr(model, "has_background", False)))
    return out


def get_pixel_model(name) -> PixelModel:
    """The :class:`PixelModel` called ``name``; ParameterError naming the usable ones otherwise."""
    from ..kinetics import MODELS

    usable = pixel_models()
    if name in usable:
        return usable[name]
    if name in MODELS:
        raise ParameterError(
            f"model={name!r} has independent variable(s) {list(MODELS[name].independent_vars)}; "
            f"per-pixel voltammogram fits need a model of the potential E: {', '.join(usable)}")
    raise ParameterError(f"model={name!r} is not a per-pixel voltammogram model; choose one of "
                         f"{', '.join(usable)} (nbtools.seccm.pixel_models())")
