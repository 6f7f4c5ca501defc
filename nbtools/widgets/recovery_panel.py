"""RecoveryPanel: how far to trust a SpikePicker's detections.

Shows the expected false-event rate at the chosen threshold (and the blank's
count when one was given) and runs :func:`nbtools.impact.injection_recovery`
on the picker's own recording behind a button, one particle size at a time
with a progress bar: detection efficiency against radius for the chosen
material, and the radius at which 90 % of the particles are found.

``RecoveryPanel(picker, *, n_sizes=6, n_per_size=20)``; ``.run()`` returns the
table (``radius`` m, ``charge`` C, ``efficiency`` with its Clopper-Pearson
``low``/``high``); ``.result`` holds it; ``.widget`` is the root ipywidget.
"""

from __future__ import annotations

import time

import ipywidgets as W
import numpy as np
import pandas as pd

from ..errors import ParameterError
from .display import ErrorDisplay, bokeh_widget

__all__ = ["RecoveryPanel", "detection_limit"]


def detection_limit(x, efficiency, level=0.9) -> float:
    """Smallest ``x`` (log-interpolated) at which ``efficiency`` reaches ``level``; NaN if never."""
    x = np.asarray(x, float)
    e = np.asarray(efficiency, float)
    order = np.argsort(x)
    x, e = x[order], e[order]
    above = np.flatnonzero(e >= level)
    if above.size == 0:
        return float("nan")
    j = above[0]
    if j == 0:
        return float(x[0])
    e0, e1 = e[j - 1], e[j]
    f = (level - e0) / (e1 - e0) if e1 > e0 else 1.0
    return float(10 ** (np.log10(x[j - 1]) + f * (np.log10(x[j]) - np.log10(x[j - 1]))))


class RecoveryPanel:
    """False-event rate and injection-recovery test for a :class:`SpikePicker`.

    Parameters
    ----------
    picker : SpikePicker
        Its recording, parameters, material and conversion are used.
    n_sizes : int
        Particle sizes tested (log-spaced over the radius range).
    n_per_size : int
        Transients injected per size.
    level : float
        Efficiency that defines the detection limit.
    """

    def __init__(self, picker, *, n_sizes: int = 6, n_per_size: int = 20, level: float = 0.9):
        from bokeh.models import ColumnDataSource, Span
        from bokeh.plotting import figure

        self.picker = picker
        self.level = float(level)
        self.result: pd.DataFrame | None = None
        self.status = ErrorDisplay()
        wide = {"description_width": "initial"}
        self.w_rmin = W.BoundedFloatText(value=5.0, min=0.1, max=1e5, step=0.5, description="Radii to test / nm: from",
                                         style=wide, layout=W.Layout(width="250px"))
        self.w_rmax = W.BoundedFloatText(value=50.0, min=0.1, max=1e5, step=0.5, description="to", style=wide,
                                         layout=W.Layout(width="120px"))
        self.w_sizes = W.BoundedIntText(value=int(n_sizes), min=2, max=30, description="Sizes", style=wide,
                                        layout=W.Layout(width="120px"))
        self.w_n = W.BoundedIntText(value=int(n_per_size), min=1, max=500, description="Particles per size",
                                    style=wide, layout=W.Layout(width="180px"))
        self.w_run = W.Button(description="Run injection-recovery test", button_style="primary",
                              icon="play", layout=W.Layout(width="260px"),
                              tooltip="Add synthetic impacts of known size to this recording and count "
                                      "how many the detection finds (takes a while)")
        self.w_progress = W.IntProgress(value=0, min=0, max=1, description="", layout=W.Layout(width="300px"))
        self.w_false = W.HTML()
        self.w_result = W.HTML()
        self.source = ColumnDataSource(data=dict(r=[], eff=[], low=[], high=[]))
        f = figure(height=260, sizing_mode="stretch_width", x_axis_type="log", x_axis_label="Radius / nm",
                   y_axis_label="Detection efficiency", y_range=(-0.03, 1.05), tools="pan,box_zoom,reset,save",
                   title="Press 'Run injection-recovery test' to measure the detection efficiency")
        f.toolbar.logo = None
        f.segment(x0="r", x1="r", y0="low", y1="high", source=self.source, color="black")
        f.line("r", "eff", source=self.source, color="#1f77b4", line_width=2)
        f.scatter("r", "eff", source=self.source, size=8, color="#1f77b4")
        f.add_layout(Span(location=self.level, dimension="width", line_dash="dashed", line_color="#d62728"))
        self.figure = f
        self._widget = None
        g = self.status.guard
        self.w_run.on_click(g(lambda _: self.run()))
        g(self.refresh)()

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
        """Update the false-event text and the default radius range from the picker."""
        sp = self.picker
        s = sp.summary
        if not s:
            self.w_false.value = "<i>No detection yet.</i>"
            return
        dur = sp.trace.duration
        txt = (f"<b>False events</b>: at a threshold of {s['threshold']:.2f} σ, Gaussian noise of this bandwidth "
               f"crosses it by chance about <b>{s['expected_false_per_s']:.2g} times per second</b>, i.e. "
               f"{s['expected_false_per_s'] * dur:.2g} false events in this {dur:.3g} s recording "
               f"(against {s['n_events']} events found).")
        if "blank_false_per_s" in s:
            txt += (f" The blank recording gave {s['blank_count']} events in {s['blank_duration']:.3g} s "
                    f"(at most {s['blank_false_high']:.2g} per second at 95 % confidence).")
        else:
            txt += " Load a blank (same electrode, no particles) to count false events directly."
        self.w_false.value = txt
        r = self._event_radii()
        if r.size:
            med = float(np.median(r)) * 1e9
            lo, hi = max(med * 0.2, 1.0), min(max(med * 1.2, 2.0), 500.0)
            self.w_rmin.value, self.w_rmax.value = round(lo, 1), round(hi, 1)

    def _event_radii(self):
        from ..impact import charge_to_radius

        sp = self.picker
        ev = sp._result
        if ev is None or not len(ev) or not np.isfinite(ev["charge"]).any():
            return np.empty(0)
        q = ev["charge"].to_numpy(float)
        q = q[np.isfinite(q) & (q != 0)]
        return np.atleast_1d(charge_to_radius(q, sp.w_material.value, sp.w_conversion.value))

    def run(self) -> pd.DataFrame:
        """Inject, detect and count, one size at a time; show efficiency vs radius."""
        from ..impact import injection_recovery, radius_to_charge

        sp = self.picker
        params = sp.params
        if params.get("kind") == "step":
            raise ParameterError("the injection-recovery test injects transients: it needs kind='spike' events")
        material, conversion = sp.w_material.value, sp.w_conversion.value
        r0, r1 = float(self.w_rmin.value), float(self.w_rmax.value)
        if not r1 > r0:
            raise ParameterError(f"the largest radius ({r1:g} nm) must exceed the smallest ({r0:g} nm)")
        radii = np.geomspace(r0, r1, int(self.w_sizes.value)) * 1e-9
        charges = radius_to_charge(radii, material, conversion)
        ev = sp.accepted_events
        tau = ev["decay_tau"].to_numpy(float) if "decay_tau" in ev else np.empty(0)
        tau = tau[np.isfinite(tau) & (tau > 0)]
        tau = float(np.median(tau)) if tau.size >= 3 else "auto"
        pol = {"negative": "negative"}.get(params.get("polarity"), "positive")
        det = dict(params)
        det["threshold"] = float(sp._attrs["threshold"])
        self.w_progress.max, self.w_progress.value = len(radii), 0
        rows = []
        t_start = time.perf_counter()
        for k, (r, q) in enumerate(zip(radii, charges)):
            self.status.info(f"Running… size {k + 1} of {len(radii)} (r = {r * 1e9:.3g} nm)")
            one = injection_recovery(sp.trace, [q], n_per_charge=int(self.w_n.value), tau=tau,
                                     inject_polarity=pol, seed=k, **det)
            rows.append(one.iloc[0].to_dict() | {"radius": r})
            self.w_progress.value = k + 1
        df = pd.DataFrame(rows)
        lim_r = detection_limit(df["radius"], df["efficiency"], self.level)
        lim_q = float(radius_to_charge(lim_r, material, conversion)) if np.isfinite(lim_r) else float("nan")
        df.attrs.update(detection_limit_radius=lim_r, detection_limit=lim_q, level=self.level,
                        material=material, conversion=conversion, params=params, tau=tau)
        self.result = df
        self.figure.title.text = (f"Fraction of {int(self.w_n.value)} injected particles found per radius "
                                  "(bars: 95 % interval); dashed: " + f"{self.level * 100:.0f} %")
        self.source.data = dict(r=df["radius"].to_numpy() * 1e9, eff=df["efficiency"].to_numpy(),
                                low=df["low"].to_numpy(), high=df["high"].to_numpy())
        pct = f"{self.level * 100:.0f} %"
        if np.isfinite(lim_r):
            res = (f"<b>{pct} detection limit: r = {lim_r * 1e9:.3g} nm</b> ({material}, conversion "
                   f"{conversion:g}; charge {lim_q * 1e15:.3g} fC). Smaller particles are missed more often: "
                   "their size distribution below this radius is incomplete.")
        else:
            res = (f"<b>{pct} detection limit: not reached</b> up to r = {radii[-1] * 1e9:.3g} nm; "
                   "test larger radii.")
        self.w_result.value = f"<div class='nbtools-recovery'>{res}</div>"
        self.status.info(f"Injection-recovery test done in {time.perf_counter() - t_start:.1f} s "
                         f"({len(radii)} sizes × {int(self.w_n.value)} particles, decay τ = "
                         f"{tau if tau == 'auto' else f'{tau * 1e3:.3g} ms'}).")
        return df
