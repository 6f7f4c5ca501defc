"""RecoveryPanel: how far to trust a SpikePicker's detections.

Shows the expected false-event rate at the chosen threshold (and the blank's
count when one was given) and runs :func:`nbtools.impact.injection_recovery`
on the picker's own recording behind a button, one particle size at a time
with a progress bar: detection efficiency against radius for the recipe's
material, and the radius at which 90 % of the particles are found.

A view: ``recipe`` is the picker's (read/write), ``result`` (a traitlet) the
last injection-recovery table (``radius`` m, ``charge`` C, ``efficiency`` with
its Clopper-Pearson ``low``/``high``; ``attrs['detection_limit_radius']``).
``RecoveryPanel(picker, *, n_sizes=6, n_per_size=20)``; ``.run()``;
``.widget`` is the root ipywidget.
"""

from __future__ import annotations

import html
import time

import ipywidgets as W
import numpy as np
import pandas as pd
import traitlets

from ..errors import ParameterError
from ..impact import (decay_time, detection_limit, event_radii, false_event_text, injection_recovery,
                      radius_to_charge)
from .display import ErrorDisplay, bokeh_widget

__all__ = ["RecoveryPanel", "detection_limit"]

_WIDE = {"description_width": "initial"}


class RecoveryPanel(traitlets.HasTraits):
    """False-event rate and injection-recovery test for a :class:`SpikePicker`.

    Parameters
    ----------
    picker : SpikePicker
        Its recording and recipe (detection settings, material, conversion) are used;
        the panel follows its results.
    n_sizes : int
        Particle sizes tested (log-spaced over the radius range).
    n_per_size : int
        Transients injected per size.
    level : float
        Efficiency that defines the detection limit.
    """

    result = traitlets.Instance(pd.DataFrame, allow_none=True)

    def __init__(self, picker, *, n_sizes: int = 6, n_per_size: int = 20, level: float = 0.9):
        super().__init__()
        self.picker = picker
        self.level = float(level)
        self.status = ErrorDisplay()
        self.w_rmin = W.BoundedFloatText(value=5.0, min=0.1, max=1e5, step=0.5, description="Radii to test / nm: from",
                                         style=_WIDE, layout=W.Layout(width="250px"))
        self.w_rmax = W.BoundedFloatText(value=50.0, min=0.1, max=1e5, step=0.5, description="to", style=_WIDE,
                                         layout=W.Layout(width="120px"))
        self.w_sizes = W.BoundedIntText(value=int(n_sizes), min=2, max=30, description="Sizes", style=_WIDE,
                                        layout=W.Layout(width="120px"))
        self.w_n = W.BoundedIntText(value=int(n_per_size), min=1, max=500, description="Particles per size",
                                    style=_WIDE, layout=W.Layout(width="180px"))
        self.w_run = W.Button(description="Run injection-recovery test", button_style="primary", icon="play",
                              layout=W.Layout(width="260px"),
                              tooltip="Add synthetic impacts of known size to this recording and count "
                                      "how many the detection finds (takes a while)")
        self.w_progress = W.IntProgress(value=0, min=0, max=1, description="", layout=W.Layout(width="300px"))
        self.w_false, self.w_result = W.HTML(), W.HTML()
        self.figure, self.source = _efficiency_figure(self.level)
        self._widget = None
        g = self.status.guard
        self.w_run.on_click(g(lambda _: self.run()))
        self.observe(g(self._on_result), names="result")
        picker.observe(g(lambda _: self.refresh()), names="result")
        g(self.refresh)()

    @property
    def recipe(self):
        """The recipe tested: the picker's (setting it sets the picker's)."""
        return self.picker.recipe

    @recipe.setter
    def recipe(self, value):
        self.picker.recipe = value

    @property
    def widget(self):
        if self._widget is None:
            self._widget = W.VBox([
                self.w_false,
                W.HTML("<b>Injection-recovery test</b>: synthetic impacts of known size are added to your own "
                       "recording (its real noise and baseline) and the detection is run again."),
                W.HBox([self.w_rmin, self.w_rmax, self.w_sizes, self.w_n]),
                W.HBox([self.w_run, self.w_progress]),
                self.status,
                self.w_result,
                bokeh_widget(self.figure),
            ])
        return self._widget

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def refresh(self) -> None:
        """Update the false-event text and the default radius range from the picker's result."""
        sp = self.picker
        s = sp.shown_summary
        if not s:
            self.w_false.value = "<i>No detection yet.</i>"
            return
        self.w_false.value = f"<b>False events</b> ({s['n_events']} events found): {html.escape(false_event_text(s))}"
        r = event_radii(sp.result, sp.recipe)
        r = r[np.isfinite(r) & (r > 0)]
        if r.size:  # the test range: around the sizes found
            med = float(np.median(r)) * 1e9
            self.w_rmin.value = round(max(med * 0.2, 1.0), 1)
            self.w_rmax.value = round(min(max(med * 1.2, 2.0), 500.0), 1)

    def run(self) -> pd.DataFrame:
        """Inject, detect and count, one size at a time; show efficiency vs radius."""
        sp = self.picker
        events = sp.accepted_events  # the exact detection
        recipe = events.attrs["recipe"]
        if recipe.event_kind == "step":
            raise ParameterError("the injection-recovery test injects transients: it needs kind='spike' events")
        r0, r1 = float(self.w_rmin.value), float(self.w_rmax.value)
        if not r1 > r0:
            raise ParameterError(f"the largest radius ({r1:g} nm) must exceed the smallest ({r0:g} nm)")
        radii = np.geomspace(r0, r1, int(self.w_sizes.value)) * 1e-9
        tau = decay_time(events) or "auto"
        self.w_progress.max, self.w_progress.value = len(radii), 0
        t_start = time.perf_counter()

        def progress(done, total):
            self.w_progress.value = done
            if done < total:
                self.status.info(f"Running… size {done + 1} of {total} (r = {radii[done] * 1e9:.3g} nm)")

        self.status.info(f"Running… size 1 of {len(radii)} (r = {radii[0] * 1e9:.3g} nm)")
        df = injection_recovery(sp.trace, radius_to_charge(radii, recipe.material, recipe.conversion),
                                recipe=recipe.replace(threshold=float(events.attrs["threshold"])),
                                n_per_charge=int(self.w_n.value), tau=tau, seed=0, progress=progress,
                                inject_polarity="negative" if recipe.polarity == "negative" else "positive",
                                material=recipe.material, conversion=recipe.conversion,
                                efficiency_level=self.level)
        df.attrs.update(level=self.level, material=recipe.material, conversion=recipe.conversion, tau=tau)
        self.result = df
        self.status.info(f"Injection-recovery test done in {time.perf_counter() - t_start:.1f} s "
                         f"({len(radii)} sizes × {int(self.w_n.value)} particles, decay τ = "
                         f"{tau if tau == 'auto' else f'{tau * 1e3:.3g} ms'}).")
        return df

    def _on_result(self, change) -> None:
        df = change["new"]
        if df is None:
            return
        a = df.attrs
        self.figure.title.text = (f"Fraction of {int(df['n_injected'].iloc[0])} injected particles found per "
                                  f"radius (bars: 95 % interval); dashed: {self.level * 100:.0f} %")
        self.source.data = dict(r=df["radius"].to_numpy() * 1e9, eff=df["efficiency"].to_numpy(),
                                low=df["low"].to_numpy(), high=df["high"].to_numpy())
        pct = f"{self.level * 100:.0f} %"
        lim_r, lim_q = a["detection_limit_radius"], a["detection_limit"]
        if np.isfinite(lim_r):
            res = (f"<b>{pct} detection limit: r = {lim_r * 1e9:.3g} nm</b> ({a['material']}, conversion "
                   f"{a['conversion']:g}; charge {lim_q * 1e15:.3g} fC). Smaller particles are missed more often: "
                   "their size distribution below this radius is incomplete.")
        else:
            res = (f"<b>{pct} detection limit: not reached</b> up to r = {df['radius'].max() * 1e9:.3g} nm; "
                   "test larger radii.")
        self.w_result.value = f"<div class='nbtools-recovery'>{res}</div>"


def _efficiency_figure(level):
    from bokeh.models import ColumnDataSource, Span
    from bokeh.plotting import figure

    source = ColumnDataSource(data=dict(r=[], eff=[], low=[], high=[]))
    f = figure(height=260, sizing_mode="stretch_width", x_axis_type="log", x_axis_label="Radius / nm",
               y_axis_label="Detection efficiency", y_range=(-0.03, 1.05), tools="pan,box_zoom,reset,save",
               title="Press 'Run injection-recovery test' to measure the detection efficiency")
    f.toolbar.logo = None
    f.segment(x0="r", x1="r", y0="low", y1="high", source=source, color="black")
    f.line("r", "eff", source=source, color="#1f77b4", line_width=2)
    f.scatter("r", "eff", source=source, size=8, color="#1f77b4")
    f.add_layout(Span(location=level, dimension="width", line_dash="dashed", line_color="#d62728"))
    return f, source
