"""What the SpikePicker draws: the threshold band and event markers on the trace, and the histograms.

:class:`EventPlots` draws numbers it is given (an event table and its
``attrs``, which events are accepted) or asks :mod:`nbtools.impact` for them
(:func:`~nbtools.impact.histogram`, :func:`~nbtools.impact.frequency_over_time`).
A tap on an event marker calls ``on_tap(row)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EventPlots", "MAX_BAND_POINTS"]

#: the baseline and threshold band are drawn with at most this many points
MAX_BAND_POINTS = 4000

_BAND_STYLE = dict(color="#ff7f0e", line_dash="dashed", line_width=1.5)
_MARKERS = (("accepted", dict(color="#d62728", size=7)),
            ("rejected", dict(color="#7f7f7f", size=9, marker="x", line_width=2)))


class EventPlots:
    """Band, markers (on a :class:`~nbtools.widgets.TraceView`) and histograms of a detection.

    Attributes
    ----------
    overlays : dict
        TraceView overlay renderers by name: baseline, upper, lower (band),
        accepted, rejected (markers).
    hists : dict
        ``name -> (figure, ColumnDataSource)`` for charge, radius, duration, frequency.
    layout : bokeh layout of the histograms.
    """

    def __init__(self, view, on_tap):
        self.view = view
        self.on_tap = on_tap
        self.overlays: dict = {}
        self._rows = {"accepted": np.empty(0, int), "rejected": np.empty(0, int)}
        self._tap_tool = None
        self.hists, self.layout = _histogram_figures()

    def forget_overlays(self) -> None:
        """After the view dropped its overlays (a new trace)."""
        self.overlays.clear()
        if self._tap_tool is not None:
            fig = self.view.figure
            fig.tools = [t for t in fig.tools if t is not self._tap_tool]
            self._tap_tool = None

    # ------------------------------------------------------------- on the trace
    def band(self, attrs, polarity: str) -> None:
        """Baseline (``attrs['baseline_curve']``) and baseline ± ``attrs['threshold_A']`` for the polarity."""
        bc = attrs["baseline_curve"]
        t, base = np.asarray(bc["t"]), np.asarray(bc["value"])
        step = max(1, t.size // MAX_BAND_POINTS)
        if step > 1:
            t, base = np.r_[t[:-1:step], t[-1]], np.r_[base[:-1:step], base[-1]]
        th = float(attrs["threshold_A"])
        lines = {"baseline": base}
        if polarity in ("both", "positive"):
            lines["upper"] = base + th
        if polarity in ("both", "negative"):
            lines["lower"] = base - th
        for name in ("baseline", "upper", "lower"):
            if name not in lines:
                self.view.remove_overlay(name)
                self.overlays.pop(name, None)
            elif name in self.overlays:
                self.view.update_overlay(name, t, lines[name])
            else:
                style = dict(color="#777777", line_width=1) if name == "baseline" else _BAND_STYLE
                self.overlays[name] = self.view.add_overlay(name, t, lines[name], kind="line", **style)

    def markers(self, events, accepted, t0: float) -> None:
        """A marker at each event's peak: red dots accepted, grey crosses rejected."""
        t = events["t_peak"].to_numpy(float) + t0
        y = (events["baseline"].to_numpy(float) + events["peak"].to_numpy(float)) if len(events) else np.zeros(0)
        self._rows = {"accepted": np.flatnonzero(accepted), "rejected": np.flatnonzero(~accepted)}
        for name, style in _MARKERS:
            sel = accepted if name == "accepted" else ~accepted
            if name in self.overlays:
                self.view.update_overlay(name, t[sel], y[sel])
                continue
            r = self.view.add_overlay(name, t[sel], y[sel], kind="scatter", **style)
            r.data_source.selected.on_change("indices", self._tapped(name))
            self.overlays[name] = r
        if self._tap_tool is None:
            from bokeh.models import TapTool

            self._tap_tool = TapTool(renderers=[self.overlays["accepted"], self.overlays["rejected"]])
            self.view.figure.add_tools(self._tap_tool)

    def _tapped(self, name):
        """Bokeh callback: a tap on a marker selects that event."""

        def on_tap(attr, old, new):
            if not new:  # also the reset below
                return
            self.overlays[name].data_source.selected.indices = []
            rows = self._rows.get(name, np.empty(0, int))
            if new[0] < rows.size:
                self.on_tap(int(rows[new[0]]))

        return on_tap

    # ------------------------------------------------------------- histograms
    def histograms(self, accepted_events, recipe, *, charge_unit, charge_scale, peak_unit, peak_scale,
                   steps: bool, duration: float, fs: float, t0: float) -> None:
        """Charge (or step height), radius, duration and frequency over time of the accepted events."""
        from ..impact import frequency_over_time, histogram

        acc = accepted_events
        specs = {"charge": ("step_height", peak_scale, {}) if steps else ("charge", charge_scale, {}),
                 "radius": ("radius", 1e9, dict(material=recipe.material, conversion=recipe.conversion)),
                 "duration": ("duration", 1e3, {})}
        has_charge = len(acc) and np.isfinite(acc["charge"].to_numpy(float)).any()
        for key, (col, scale, kw) in specs.items():
            data = dict(left=[], right=[], top=[])
            if len(acc) and not (steps and key != "charge") and (key != "radius" or has_charge):
                h = histogram(acc, col, bins="auto", **kw)
                data = dict(left=h["left"].to_numpy() * scale, right=h["right"].to_numpy() * scale,
                            top=h["count"].to_numpy())
            self.hists[key][1].data = data
        label = {"charge": f"|Step height| / {peak_unit}" if steps else f"|Charge| / {charge_unit}",
                 "radius": "Radius (spikes only)" if steps else f"Radius / nm ({recipe.material})",
                 "duration": "Duration (spikes only)" if steps else "Duration / ms"}
        for key, text in label.items():
            self.hists[key][0].xaxis.axis_label = text
        fo = frequency_over_time(acc, bin=max(duration / 10.0, 1.0 / fs), duration=duration)
        self.hists["frequency"][1].data = dict(
            left=fo["t_start"].to_numpy() + t0, right=fo["t_end"].to_numpy() + t0, top=fo["frequency"].to_numpy(),
            mid=0.5 * (fo["t_start"] + fo["t_end"]).to_numpy() + t0, low=fo["low"].to_numpy(),
            high=fo["high"].to_numpy())


def _histogram_figures():
    from bokeh.layouts import gridplot
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    hists, figs = {}, []
    for key, label, color in (("charge", "|Charge|", "#1f77b4"), ("radius", "Radius / nm", "#2ca02c"),
                              ("duration", "Duration / ms", "#9467bd")):
        src = ColumnDataSource(data=dict(left=[], right=[], top=[]))
        f = figure(height=210, width=300, x_axis_label=label, y_axis_label="Events",
                   tools="pan,box_zoom,reset,save", toolbar_location=None)
        f.quad(left="left", right="right", bottom=0, top="top", source=src, color=color, alpha=0.75,
               line_color="white")
        f.y_range.start = 0
        hists[key] = (f, src)
        figs.append(f)
    src = ColumnDataSource(data=dict(left=[], right=[], top=[], mid=[], low=[], high=[]))
    f = figure(height=210, width=300, x_axis_label="Time / s", y_axis_label="Frequency / s⁻¹",
               tools="pan,box_zoom,reset,save", toolbar_location=None)
    f.quad(left="left", right="right", bottom=0, top="top", source=src, color="#ff7f0e", alpha=0.6,
           line_color="white")
    f.segment(x0="mid", x1="mid", y0="low", y1="high", source=src, color="black", line_width=1.5)
    f.y_range.start = 0
    hists["frequency"] = (f, src)
    figs.append(f)
    return hists, gridplot([figs], sizing_mode="stretch_width", toolbar_location=None)
