"""TraceView: an interactive current-time plot for long recordings.

The full trace stays in the kernel. The browser only ever receives at most
``max_points`` points of the visible window: on every zoom or pan (Bokeh's
``RangesUpdate`` event) the window is downsampled again by
:func:`nbtools.plotting.downsample_window` and pushed to the plot.

Public API (other widgets build on it, e.g. the spike picker):

- ``TraceView(trace=None, *, max_points=2000, title=None, height=320)``
- ``.figure`` (bokeh Figure), ``.source`` (ColumnDataSource with columns
  ``t`` in s and ``y`` in ``.unit``), ``.widget`` (the ipywidget to display)
- ``.unit`` (e.g. ``"pA"``) and ``.scale`` (amperes -> displayed unit);
  ``.auto_y`` (default True: the current axis follows the visible window)
- ``.set_trace(trace)``, ``.zoom_to(t0, t1)``, ``.redraw()``, ``.window``
- ``.add_overlay(name, t, current, kind="scatter", **glyph)`` and
  ``.update_overlay(name, t, current)``, ``.has_overlay(name)``,
  ``.remove_overlay(name)`` for markers and fitted lines (in A);
  ``.add_hline(name, current)`` for thresholds and baselines (in A)
"""

from __future__ import annotations

import numpy as np

from ..plotting import current_display_unit, downsample_window
from ..trace import Trace
from .display import bokeh_widget, hold_patches

__all__ = ["TraceView"]


class TraceView:
    """Plot a :class:`~nbtools.Trace` with zoom-dependent downsampling.

    Parameters
    ----------
    trace : Trace, optional
        The recording to show; can be set later with :meth:`set_trace`.
    max_points : int, optional
        Largest number of points sent to the browser per redraw.
    title : str, optional
        Plot title (default: the trace's file name).
    height : int, optional
        Plot height in pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools import Trace
    >>> view = TraceView(Trace(np.random.default_rng(0).normal(0, 1e-12, 100_000), fs=10_000.0))
    >>> view.unit, len(view.source.data["t"]) <= 2000
    ('pA', True)
    >>> view.zoom_to(1.0, 1.1); bool(view.source.data["t"].min() < 1.0 + 1e-3)
    True
    """

    def __init__(self, trace: Trace | None = None, *, max_points: int = 2000,
                 title: str | None = None, height: int = 320):
        from bokeh.events import RangesUpdate
        from bokeh.models import ColumnDataSource, Range1d
        from bokeh.plotting import figure

        self.max_points = int(max_points)
        self.trace: Trace | None = None
        self.unit, self.scale = "pA", 1e12
        self._title = title
        self._overlays: dict[str, tuple] = {}  # name -> (ColumnDataSource, renderer)
        self._hlines: dict[str, tuple] = {}  # name -> (Span, current A)
        self._widget = None

        self.auto_y = True  # fit the current axis to the visible window on every redraw
        self.source = ColumnDataSource(data=dict(t=np.zeros(0), y=np.zeros(0)))
        self.figure = figure(
            height=height, sizing_mode="stretch_width",
            x_range=Range1d(0.0, 1.0), y_range=Range1d(-1.0, 1.0),
            tools="xpan,xbox_zoom,xwheel_zoom,reset,save",
            active_drag="xbox_zoom", active_scroll=None,
            x_axis_label="Time / s", y_axis_label="Current / pA",
            title=title or "",
            output_backend="canvas",
        )
        self.line = self.figure.line("t", "y", source=self.source, line_width=1, color="#1f4e9c")
        self.figure.toolbar.logo = None
        self.figure.on_event(RangesUpdate, self._on_ranges)
        if trace is not None:
            self.set_trace(trace)

    # --- display -----------------------------------------------------------
    @property
    def widget(self):
        """The ipywidget (jupyter_bokeh BokehModel) showing the figure, created on first use."""
        if self._widget is None:
            self._widget = bokeh_widget(self.figure)
        return self._widget

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # --- data --------------------------------------------------------------
    @property
    def window(self) -> tuple[float, float]:
        """Visible time window (start, end) in seconds."""
        return float(self.figure.x_range.start), float(self.figure.x_range.end)

    def set_trace(self, trace: Trace) -> None:
        """Show another recording: choose its current unit, show it whole, drop the overlays."""
        self.trace = trace
        t, y = downsample_window(trace, n_out=self.max_points) if len(trace) else (np.zeros(0), np.zeros(0))
        peak = float(np.nanmax(np.abs(y))) if np.isfinite(y).any() else 0.0
        self.unit, self.scale = current_display_unit(peak)
        self.figure.yaxis.axis_label = f"Current / {self.unit}"
        if self._title is None:
            name = (trace.source or "").replace("\\", "/").rsplit("/", 1)[-1]
            self.figure.title.text = name
        for name in list(self._overlays):
            self.remove_overlay(name)
        for span, value in self._hlines.values():  # keep thresholds, in the new unit
            span.location = value * self.scale
        t_end = trace.t0 + max(len(trace) - 1, 1) / trace.fs
        xr = self.figure.x_range
        xr.bounds = None
        xr.start, xr.end = trace.t0, t_end
        xr.reset_start, xr.reset_end = trace.t0, t_end
        xr.bounds = (trace.t0, t_end)
        self._push(t, y)
        yr = self.figure.y_range
        yr.reset_start, yr.reset_end = yr.start, yr.end

    def redraw(self, t0: float | None = None, t1: float | None = None) -> int:
        """Downsample the window ``[t0, t1]`` (default: the visible one) and push it to the plot.

        Returns the number of points sent.
        """
        if self.trace is None or len(self.trace) == 0:
            return 0
        if t0 is None or t1 is None:
            t0, t1 = self.window
        t, y = downsample_window(self.trace, t0=t0, t1=t1, n_out=self.max_points)
        self._push(t, y)
        return len(t)

    def _push(self, t, y_amperes) -> None:
        """Send points to the plot (in the display unit); fit the current axis when ``auto_y``."""
        y = np.asarray(y_amperes, dtype=np.float64) * self.scale
        self.source.data = dict(t=t, y=y)
        finite = y[np.isfinite(y)]
        if self.auto_y and len(finite):
            lo, hi = float(finite.min()), float(finite.max())
            pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi) * 0.05, 1e-3)
            self.figure.y_range.start, self.figure.y_range.end = lo - pad, hi + pad

    def zoom_to(self, t0: float, t1: float) -> None:
        """Show the time window ``[t0, t1]`` (s) at full detail (up to ``max_points``)."""
        if not t1 > t0:
            from ..errors import ParameterError

            raise ParameterError(f"zoom_to needs t1 > t0, found t0={t0!r} s, t1={t1!r} s")
        self.figure.x_range.start, self.figure.x_range.end = float(t0), float(t1)
        self.redraw(t0, t1)

    def _on_ranges(self, event) -> None:
        """Bokeh RangesUpdate handler: redraw the new x window (one message to the browser)."""
        if event.x0 is None or event.x1 is None:
            return
        with hold_patches():
            self.redraw(float(event.x0), float(event.x1))

    # --- overlays (values in amperes, time in seconds) ----------------------
    def add_overlay(self, name: str, t, current, *, kind: str = "scatter", **glyph):
        """Draw extra points or a line (e.g. detected events, a fit) over the trace.

        Parameters
        ----------
        name : str
            Key to update or remove the overlay later.
        t, current : array_like
            Time (s) and current (A); not downsampled, keep them short.
        kind : {"scatter", "line"}
            Bokeh glyph to use.
        **glyph
            Passed to the Bokeh glyph (``color``, ``size``, ``legend_label`` ...).

        Returns
        -------
        bokeh.models.GlyphRenderer
        """
        from bokeh.models import ColumnDataSource

        if name in self._overlays:
            self.remove_overlay(name)
        t, current = np.asarray(t, dtype=np.float64), np.asarray(current, dtype=np.float64)
        src = ColumnDataSource(data=dict(t=t, y=current * self.scale))
        if kind == "scatter":
            glyph.setdefault("color", "#d62728")
            glyph.setdefault("size", 7)
            renderer = self.figure.scatter("t", "y", source=src, **glyph)
        elif kind == "line":
            glyph.setdefault("color", "#d62728")
            renderer = self.figure.line("t", "y", source=src, **glyph)
        else:
            from ..errors import ParameterError

            raise ParameterError(f"add_overlay kind must be 'scatter' or 'line', found {kind!r}")
        self._overlays[name] = (src, renderer)
        return renderer

    def has_overlay(self, name: str) -> bool:
        """True when an overlay called ``name`` is drawn."""
        return name in self._overlays

    def update_overlay(self, name: str, t, current) -> None:
        """Replace the points of overlay ``name`` (time in s, current in A); only what changed is sent."""
        src, _ = self._overlays[name]
        new = dict(t=np.asarray(t, dtype=np.float64), y=np.asarray(current, dtype=np.float64) * self.scale)
        old = src.data
        if len(old["t"]) != len(new["t"]):
            src.data = new
            return
        changed = {k: v for k, v in new.items() if not np.array_equal(np.asarray(old[k]), v, equal_nan=True)}
        if changed:
            src.data.update(changed)

    def remove_overlay(self, name: str) -> None:
        """Remove overlay or horizontal line ``name`` if present."""
        if name in self._overlays:
            _, renderer = self._overlays.pop(name)
            self.figure.renderers = [r for r in self.figure.renderers if r is not renderer]
        if name in self._hlines:
            span, _ = self._hlines.pop(name)
            span.visible = False

    def add_hline(self, name: str, current: float, **style):
        """A horizontal line at ``current`` (A), e.g. a threshold; call again to move it."""
        from bokeh.models import Span

        if name in self._hlines:
            span, _ = self._hlines[name]
            span.location = float(current) * self.scale
            span.visible = True
            self._hlines[name] = (span, float(current))
            return span
        style.setdefault("line_color", "#ff7f0e")
        style.setdefault("line_dash", "dashed")
        style.setdefault("line_width", 1.5)
        span = Span(location=float(current) * self.scale, dimension="width", **style)
        self.figure.add_layout(span)
        self._hlines[name] = (span, float(current))
        return span
