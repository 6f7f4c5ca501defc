"""ParamTable: the editable parameter table of the fit panel (start value, min, max, vary per parameter).

A view: :meth:`ParamTable.show` draws lmfit.Parameters (the start of a fit, from
:func:`nbtools.kinetics.start_params`); :meth:`ParamTable.edits` reads back what
the user changed since (the text differs from what was drawn) as the
``params`` changes of a :class:`~nbtools.kinetics.FitRecipe`. It calls
``on_edit()`` whenever a cell changes.
"""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from ..errors import ParameterError
from ..kinetics.registry import param_name, unit_text

__all__ = ["ParamTable", "WindowBoxes", "format_number", "parse_number"]

_WIDTHS = (("parameter", "230px"), ("start value", "130px"), ("min", "110px"), ("max", "110px"),
           ("vary", "60px"), ("unit", "70px"), ("meaning", "300px"))


def format_number(v: float) -> str:
    """A number as the table shows it (6 significant digits, ``inf``/``-inf``)."""
    return "inf" if v == np.inf else "-inf" if v == -np.inf else f"{v:.6g}"


def parse_number(text: str, what: str, empty: float | None = None) -> float:
    """The number typed in a cell (``2.5e-9``, ``inf``; empty: ``empty``), or ParameterError naming it."""
    t = str(text).strip().replace("\u2212", "-")
    if not t and empty is not None:
        return empty
    try:
        return float(t)
    except ValueError:
        raise ParameterError(f"{what}: {text!r} is not a number (write e.g. 2.5e-9, inf or -inf)") from None


class ParamTable(W.VBox):
    """Rows of ``value``/``min``/``max`` Text and ``vary`` Checkbox per parameter (``.rows[name]``)."""

    def __init__(self, on_edit=None, **kwargs):
        super().__init__(**kwargs)
        self.on_edit = on_edit
        self.rows: dict[str, dict] = {}
        self._shown: dict[str, dict] = {}

    def build(self, model, pars) -> None:
        """New rows for the parameters of ``model`` (units and meanings from its registry information)."""
        head = W.HBox([W.HTML(f"<b>{t}</b>", layout=W.Layout(width=w)) for t, w in _WIDTHS])
        rows, boxes = {}, [head]
        for name, p in pars.items():
            info = model.param_info(name) if hasattr(model, "param_info") else None
            unit = unit_text(info.unit) if info and info.unit else "–"
            root = name[len(model.prefix):] if getattr(model, "prefix", "") and name.startswith(model.prefix) else name
            label, symbol = param_name(root)
            desc = info.description if info else ""
            r = {key: W.Text(layout=W.Layout(width=w), continuous_update=False)
                 for key, w in (("value", "130px"), ("min", "110px"), ("max", "110px"))}
            r["vary"] = W.Checkbox(indent=False, layout=W.Layout(width="60px"))
            if p.expr:
                for w in r.values():
                    w.disabled = True
                desc = (desc if "derived" in desc else f"{desc} (derived)") if desc else f"derived: {p.expr}"
            r["expr"] = p.expr
            rows[name] = r
            title = f"{html.escape(label)}, <i>{html.escape(symbol)}</i>" if symbol != label else html.escape(label)
            boxes.append(W.HBox([
                W.HTML(f"<span title='{html.escape(name)}'>{title}</span>", layout=W.Layout(width="230px")),
                r["value"], r["min"], r["max"], r["vary"],
                W.HTML(html.escape(unit), layout=W.Layout(width="70px")),
                W.HTML(f"<span style='color:#555'>{html.escape(desc)}</span>", layout=W.Layout(width="300px"))]))
        self.rows, self._shown = rows, {}
        self.show(pars)
        for r in rows.values():
            for key in ("value", "min", "max", "vary"):
                r[key].observe(self._changed, names="value")
        self.children = boxes

    def show(self, pars) -> None:
        """Draw the values of ``pars`` (what was drawn is remembered, so redrawing is no edit)."""
        for name, p in pars.items():
            if name not in self.rows:
                continue
            cells = {"value": format_number(p.value), "min": format_number(p.min), "max": format_number(p.max),
                     "vary": bool(p.vary)}
            for key, v in cells.items():
                # remembered cell by cell: a redraw in progress never reads as an edit
                self._shown.setdefault(name, {})[key] = v
                self.rows[name][key].value = v

    def _changed(self, _change):
        if self.on_edit is not None:
            self.on_edit()

    def edits(self) -> dict:
        """What the user changed since the last :meth:`show`: name -> dict of value/min/max/vary.

        Unticking *vary* also records the value shown (the parameter is held there).

        Raises
        ------
        ParameterError
            A cell holds text that is not a number.
        """
        out = {}
        for name, r in self.rows.items():
            if r["expr"]:
                continue
            shown = self._shown.get(name, {})
            what = param_name(name)[0]
            vals = {"value": parse_number(r["value"].value, f"start value of the {what}"),
                    "min": parse_number(r["min"].value, f"min of the {what}", empty=-np.inf),
                    "max": parse_number(r["max"].value, f"max of the {what}", empty=np.inf)}
            change = {k: v for k, v in vals.items() if r[k].value != shown.get(k)}
            if bool(r["vary"].value) != shown.get("vary"):
                change["vary"] = bool(r["vary"].value)
                if not change["vary"]:
                    change["value"] = vals["value"]
            if change:
                out[name] = change
        return out

    def set_cells(self, name, *, value=None, min=None, max=None, vary=None) -> None:
        """Type into a row (numbers, or text such as ``"inf"``); each cell counts as an edit."""
        r = self.rows[name]
        for key, v in (("min", min), ("max", max), ("value", value)):
            if v is not None:
                r[key].value = v if isinstance(v, str) else format_number(float(v))
        if vary is not None:
            r["vary"].value = bool(vary)


class WindowBoxes:
    """*fit from* / *to* boxes of a fit window: :meth:`show` draws a window, :meth:`typed` reads
    what the user typed since (an untouched box keeps its exact value)."""

    def __init__(self, on_edit=None):
        self.low = W.Text(description="fit from", layout=W.Layout(width="190px"), continuous_update=False,
                          tooltip="fit only points with x from .. to (empty: all)")
        self.high = W.Text(description="to", layout=W.Layout(width="170px"), continuous_update=False)
        self._shown = ["", ""]
        if on_edit is not None:
            for w in (self.low, self.high):
                w.observe(lambda _: on_edit(), names="value")

    def show(self, window) -> None:
        texts = ("", "") if window is None else tuple(format_number(v) for v in window)
        for k, box in enumerate((self.low, self.high)):  # box by box: a redraw never reads as typing
            self._shown[k] = texts[k]
            box.value = texts[k]

    def typed(self, window):
        """``(low, high)`` with the typed ends (None: empty box) and ``window``'s ends for untouched
        boxes; None when nothing was typed."""
        texts = (self.low.value, self.high.value)
        if list(texts) == self._shown:
            return None
        ends = []
        for k, (text, what) in enumerate(zip(texts, ("fit from", "fit to"))):
            if text == self._shown[k]:
                ends.append(window[k] if window is not None else None)
            else:
                v = parse_number(text, what, empty=np.nan)
                ends.append(None if np.isnan(v) else v)
        return tuple(ends)
