"""ParticleOnAStick: the dashboard sections of the particle-on-a-stick workflow.

Thin: every number comes from one call into :mod:`nbtools.stick` (which composes
:mod:`nbtools.kinetics`). The sections are separate root widgets so that a
notebook can put explanations between them:

``app = ParticleOnAStick(data_dir)``; ``app.data_section``, ``app.scan_rate_section``,
``app.pitt_section``, ``app.laviron_section``, ``app.fit_section``,
``app.trust_section``; ``app.analyse()`` reruns everything (the *Analyse* button);
``app.results`` holds the tables (DataFrames) of the last analysis.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import ipywidgets as W
import numpy as np

from .. import stick
from ..errors import DataError, MissingFileError
from ..plotting import current_display_unit
from .display import ErrorDisplay, bokeh_widget
from .fit_panel import FitPanel

__all__ = ["ParticleOnAStick"]

_COLORS = ["#1f4e9c", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8e44ad", "#264653", "#b00020",
           "#6a994e", "#577590"]


def _table(df, columns, *, highlight=None) -> str:
    """HTML table; ``columns`` = [(column, header, formatter)]."""
    head = "".join(f"<th style='text-align:left;padding:2px 10px'>{html.escape(h)}</th>" for _, h, _ in columns)
    body = []
    for k, row in df.reset_index(drop=True).iterrows():
        style = " style='background:#eef5ee'" if highlight is not None and bool(highlight[k]) else ""
        cells = "".join(f"<td style='padding:2px 10px'>{html.escape(f(row[c]))}</td>" for c, _, f in columns)
        body.append(f"<tr{style}>{cells}</tr>")
    return f"<table style='border-collapse:collapse'><tr>{head}</tr>{''.join(body)}</table>"




class ParticleOnAStick:
    """Load one particle's CVs and potential steps, analyse them, show each step of the workflow.

    Parameters
    ----------
    data_dir : str or Path
        Folder with the files.
    cv_pattern : str
        Glob of the voltammograms (CSV with ``Time / s``, ``Potential / V``, ``Current / pA``).
    pitt_file : str
        Potential-step series in the same format ("" for none).
    truth_file : str
        JSON with the true parameters of a simulated example ("" for real data).
    material : str
        Name in :mod:`nbtools.materials`.
    small : bool
        Fit every other potential step only (quick tests).
    headings : bool
        Start each section with its heading (off when the notebook has its own).
    """

    def __init__(self, data_dir, *, cv_pattern="particle_cv_*.csv", pitt_file="particle_pitt.csv",
                 truth_file="particle_truth.json", material="LiMn2O4", small=False, headings=True):
        from ..materials import list_materials

        self.small = bool(small)
        self.headings = bool(headings)
        self.results: dict = {}
        self.status = ErrorDisplay()
        self.folder = W.Text(str(Path(data_dir)), description="Folder", layout=W.Layout(width="520px"))
        self.cv_pattern = W.Text(cv_pattern, description="CV files", layout=W.Layout(width="320px"),
                                 tooltip="file name pattern; * matches anything")
        self.pitt_file = W.Text(pitt_file, description="Step file", layout=W.Layout(width="320px"))
        self.truth_file = W.Text(truth_file, description="Truth", layout=W.Layout(width="320px"),
                                 tooltip="JSON with the true values of a simulated example; empty for real data")
        names = list(list_materials()["name"])
        self.material = W.Dropdown(options=names, value=material if material in names else names[0],
                                   description="Material")
        self.conversion = W.BoundedFloatText(1.0, min=0.01, max=1.0, step=0.05, description="Converted",
                                             tooltip="fraction of the formula unit (de)lithiated in the "
                                                     "potential window (e.g. 0.5 for LiCoO2)")
        self.analyse_button = W.Button(description="Analyse", button_style="primary", icon="play")
        self.analyse_button.add_class("nbtools-analyse-button")
        self.upload = W.FileUpload(accept=".csv,.tsv,.txt", multiple=True, description="Upload files",
                                   tooltip="your CSV files: one per scan rate and optionally one step series")
        self.per_scan_rate = W.Checkbox(False, description="divide by the scan rate (i/v: thin-layer CVs overlap)",
                                        indent=False, layout=W.Layout(width="420px"))
        self.cv_plot, self.peak_html, self.size_html = W.VBox(), W.HTML(), W.HTML()
        self.slope_plot, self.slope_html = W.VBox(), W.HTML()
        self.pitt_plot, self.pitt_html = W.VBox(), W.HTML()
        self.laviron_plot, self.laviron_html = W.VBox(), W.HTML()
        self.step_select = W.Dropdown(description="Step", layout=W.Layout(width="360px"))
        self.fit_box = W.VBox()
        self.trust_html = W.HTML()
        self.panel: FitPanel | None = None
        g = self.status.guard
        self.analyse_button.on_click(g(lambda _: self.analyse()))
        self.upload.observe(g(lambda ch: self.load_uploaded(
            [(f["name"], bytes(f["content"])) for f in ch["new"]]) if ch["new"] else None), names="value")
        self.step_select.observe(g(lambda ch: self._show_fit_panel(ch["new"])), names="value")
        self.per_scan_rate.observe(g(lambda _: self._show_cvs() if self.results else None), names="value")
        g(self.analyse)()

    # --- analysis ------------------------------------------------------------------
    def load_uploaded(self, files) -> dict:
        """Analyse uploaded files: ``files`` = [(name, bytes)].

        They are written to a new temporary folder (never over the user's files);
        each is classified as a voltammogram or a potential-step series by
        :func:`nbtools.stick.classify_curve`.
        """
        import tempfile

        files = list(files)
        if not files:
            raise DataError("no files uploaded")
        tmp = Path(tempfile.mkdtemp(prefix="nbtools_particle_"))
        cvs, steps = [], []
        for name, content in files:
            safe = Path(str(name)).name or "upload.csv"
            path = tmp / f"upload_{safe}"
            path.write_bytes(content)
            kind = stick.classify_curve(stick.read_curve_csv(path))
            target = tmp / (f"cv_{safe}" if kind == "cv" else f"steps_{safe}")
            path.rename(target)
            (cvs if kind == "cv" else steps).append(target.name)
        if len(steps) > 1:
            raise DataError(f"{len(steps)} potential-step files uploaded ({', '.join(steps)}); upload one")
        if not cvs:
            raise DataError("no voltammogram among the uploaded files (each had only a few potentials)")
        self.folder.value = str(tmp)
        self.cv_pattern.value = "cv_*"
        self.pitt_file.value = steps[0] if steps else ""
        self.truth_file.value = ""
        return self.analyse()

    def analyse(self) -> dict:
        """Read the files and run the whole workflow; update every section."""
        folder = Path(self.folder.value).expanduser()
        if not folder.is_dir():
            raise MissingFileError(f"folder {str(folder)!r} not found; type the folder of your files")
        paths = sorted(folder.glob(self.cv_pattern.value.strip() or "*.csv"))
        if len(paths) < 1:
            raise DataError(f"no file matches {self.cv_pattern.value!r} in {folder}")
        self.status.info(f"Reading {len(paths)} voltammogram(s)...")
        r = {"cvs": stick.load_cv_series(paths)}
        r["peaks"] = stick.cv_peak_table(r["cvs"])
        q = float(np.median(np.r_[r["peaks"]["Q_a"].abs(), r["peaks"]["Q_c"].abs()]))
        r["size"] = stick.particle_size(q, self.material.value, conversion=self.conversion.value)
        radius = float(r["size"]["radius"])
        r["slope"] = stick.scan_rate_verdict(r["peaks"]["v"], r["peaks"]["i_pa"]) if len(paths) >= 3 else None
        r["steps"], r["pitt"] = [], None
        pf = self.pitt_file.value.strip()
        missing_pitt = bool(pf) and not (folder / pf).is_file()
        if pf and not missing_pitt:
            steps = stick.split_steps(stick.read_curve_csv(folder / pf))
            r["steps"] = steps[::2] if self.small else steps
            r["pitt"] = stick.pitt_table(r["steps"], radius=radius)
        tau = r["pitt"].attrs["tau"] if r["pitt"] is not None and np.isfinite(r["pitt"].attrs["tau"]) else None
        r["laviron"] = stick.laviron_table(r["peaks"], tau=tau, radius=radius)
        tf = self.truth_file.value.strip()
        r["truth"] = json.loads((folder / tf).read_text()) if tf and (folder / tf).is_file() else None
        self.results = r
        self._show_cvs()
        self._show_slope()
        self._show_pitt()
        self._show_laviron()
        self._fill_steps()
        self._show_trust()
        self.status.info(f"Analysed {len(r['cvs'])} voltammograms and {len(r['steps'])} potential steps "
                         f"from {folder}.")
        if missing_pitt:
            self.status.warning(f"step file {pf!r} not found in {folder}: analysed the voltammograms only "
                                f"(no D; k_s without the diffusion correction).")
        return r

    # --- sections --------------------------------------------------------------------
    def _show_cvs(self):
        from bokeh.plotting import figure

        r = self.results
        per_v = self.per_scan_rate.value
        div = [c.attrs["v"] if per_v else 1.0 for c in r["cvs"]]
        unit, k = current_display_unit(max(float(np.max(np.abs(c["i"]))) / d for c, d in zip(r["cvs"], div)))
        ylab = f"Current / scan rate / ({unit}·s/V)" if per_v else f"Current / {unit}"
        fig = figure(height=330, sizing_mode="stretch_width", x_axis_label="Potential / V",
                     y_axis_label=ylab, title="Cyclic voltammograms (anodic current up)",
                     tools="pan,box_zoom,wheel_zoom,reset,save", active_scroll=None)
        for j, (c, row, d) in enumerate(zip(r["cvs"], r["peaks"].itertuples(), div)):
            col = _COLORS[j % len(_COLORS)]
            fig.line(c["E"], c["i"] * k / d, color=col, legend_label=f"{row.v * 1e3:g} mV/s")
            fig.scatter([row.E_pa, row.E_pc], [row.i_pa * k / d, row.i_pc * k / d], color=col, size=7,
                        marker="x")
        fig.legend.location = "top_left"
        fig.legend.click_policy = "hide"
        fig.toolbar.logo = None
        self.cv_figure = fig
        self.cv_plot.children = [bokeh_widget(fig)]
        cols = [("v", "scan rate", lambda v: f"{v * 1e3:.3g} mV/s"),
                ("E_pa", "E peak, anodic", lambda v: f"{v:.4f} V"),
                ("E_pc", "E peak, cathodic", lambda v: f"{v:.4f} V"),
                ("dEp", "separation", lambda v: f"{v * 1e3:.1f} mV"),
                ("i_pa", "i peak, anodic", lambda v: stick.format_si(v, "A")),
                ("i_pc", "i peak, cathodic", lambda v: stick.format_si(v, "A")),
                ("Q_a", "charge, anodic", lambda v: stick.format_si(v, "C")),
                ("Q_c", "charge, cathodic", lambda v: stick.format_si(v, "C"))]
        self.peak_html.value = _table(r["peaks"], cols)
        s = r["size"]
        self.size_html.value = (
            f"<p>Charge of a full sweep (median of all sweeps): <b>{stick.format_si(s['charge'], 'C')}</b> "
            f"= capacity <b>{stick.format_si(s['capacity_Ah'], 'Ah')}</b> ({s['capacity_Ah'] * 1e3:.3g} mAh). "
            f"For {html.escape(s['material'])} ({s['conversion']:.0%} of the formula unit converted) this is a sphere of radius "
            f"<b>{stick.format_si(s['radius'], 'm')}</b> (mass {stick.format_si(s['mass'] * 1e3, 'g')}). "
            f"Mid-peak potential (median over the scan rates) {r['peaks']['E_mid'].median():.4f} V "
            f"≈ formal potential E0.</p>")

    def _show_slope(self):
        from bokeh.plotting import figure

        r, s = self.results, self.results["slope"]
        if s is None:
            self.slope_plot.children = []
            self.slope_html.value = "<p>Need at least 3 scan rates for the slope.</p>"
            return
        p = r["peaks"]
        unit, k = current_display_unit(float(np.max(np.abs(np.r_[p["i_pa"], p["i_pc"]]))))
        mv = 1e3  # V/s -> mV/s on the axis
        fig = figure(height=300, sizing_mode="stretch_width", x_axis_type="log", y_axis_type="log",
                     x_axis_label="Scan rate / (mV/s)", y_axis_label=f"|Peak current| / {unit}",
                     title="log |i_p| against log v", tools="pan,box_zoom,reset,save")
        fig.scatter(p["v"] * mv, p["i_pa"].abs() * k, size=8, color="#b00020", legend_label="anodic")
        fig.scatter(p["v"] * mv, p["i_pc"].abs() * k, size=8, marker="triangle", color="#1f4e9c",
                    legend_label="cathodic")
        v = np.geomspace(p["v"].min(), p["v"].max(), 20)
        fig.line(v * mv, 10 ** (s["intercept"] + s["slope"] * np.log10(v)) * k, color="#b00020",
                 legend_label=f"fit, slope {s['slope']:.2f}")
        v0, i0 = p["v"].iloc[0], abs(p["i_pa"].iloc[0]) * k
        fig.line(v * mv, i0 * (v / v0), color="#888", line_dash="dashed", legend_label="slope 1 (thin layer)")
        fig.line(v * mv, i0 * np.sqrt(v / v0), color="#888", line_dash="dotted",
                 legend_label="slope 1/2 (diffusion)")
        fig.legend.location = "top_left"
        fig.toolbar.logo = None
        self.slope_plot.children = [bokeh_widget(fig)]
        self.slope_html.value = (
            f"<p>Slope <b>{s['slope']:.3f}</b> (95 % interval {s['lower']:.3f} … {s['upper']:.3f}, "
            f"{int(s['n'])} scan rates): <b>{html.escape(s['verdict'])}</b>.</p>")

    def _show_pitt(self):
        from bokeh.plotting import figure

        r = self.results
        if r["pitt"] is None:
            self.pitt_plot.children, self.pitt_html.value = [], "<p>No potential-step file given.</p>"
            return
        from bokeh.models import Range1d

        peak = max(float(np.max(np.abs(s["i"]))) for s in r["steps"])
        unit, k = current_display_unit(peak)
        fig = figure(height=300, sizing_mode="stretch_width", y_axis_type="log",
                     y_range=Range1d(peak * k * 1e-3, peak * k * 2),
                     x_axis_label="Time since the step / s", y_axis_label=f"|Current| / {unit}",
                     title="Potential-step transients", tools="pan,box_zoom,reset,save")
        for j, s in enumerate(r["steps"]):
            y = np.abs(s["i"].to_numpy()) * k
            ok = y > 0
            fig.line(s["t_step"].to_numpy()[ok], y[ok], color=_COLORS[j % len(_COLORS)],
                     legend_label=f"→ {s.attrs['E']:.3f} V")
        fig.legend.location = "top_right"
        fig.legend.click_policy = "hide"
        fig.toolbar.logo = None
        self.pitt_plot.children = [bokeh_widget(fig)]
        pt = r["pitt"]
        cols = [("E", "step to", lambda v: f"{v:.3f} V"), ("Q", "charge", lambda v: stick.format_si(v, "C")),
                ("tau", "τ = r²/D", lambda v: f"{v:.3g} s"),
                ("tau_lower", "95 % from", lambda v: f"{v:.3g} s"), ("tau_upper", "to", lambda v: f"{v:.3g} s"),
                ("biot", "Biot L", lambda v: f"{v:.3g}"), ("D", "D", lambda v: f"{v:.3g} m²/s"),
                ("status", "status", str)]
        tau, rad = pt.attrs["tau"], pt.attrs["radius"]
        notes = [f"→ {e:.3f} V: {w}" for e, ws in zip(pt["E"], pt["warnings"]) for w in ws.split(" | ") if w]
        warn = ("<div style='color:#8a5300'>Fit warnings:<ul style='margin:2px 0'>"
                + "".join(f"<li>{html.escape(w)}</li>" for w in notes) + "</ul></div>" if notes else "")
        self.pitt_html.value = (
            _table(pt, cols) + warn +
            f"<p>τ over all steps (geometric mean): <b>{tau:.3g} s</b> (spread ×{10 ** pt.attrs['tau_spread']:.2f}); "
            f"with r = {stick.format_si(rad, 'm')} from the charge, <b>D = {rad ** 2 / tau:.3g} m²/s</b> "
            f"({rad ** 2 / tau * 1e4:.3g} cm²/s). Biot L = k r/D: above ~30 diffusion alone controls the step, "
            f"below ~0.1 the surface reaction does.</p>")

    def _show_laviron(self):
        from bokeh.plotting import figure

        lt = self.results["laviron"]
        fig = figure(height=260, sizing_mode="stretch_width", x_axis_type="log",
                     x_axis_label="Scan rate / (mV/s)", y_axis_label="Peak separation / mV",
                     title="Peak separation (green: used for k_s)", tools="pan,box_zoom,reset,save")
        used = lt["used"].to_numpy()
        fig.scatter(lt["v"][used] * 1e3, lt["dEp"][used] * 1e3, size=9, color="#2a9d8f", legend_label="used")
        fig.scatter(lt["v"][~used] * 1e3, lt["dEp"][~used] * 1e3, size=7, color="#999",
                    legend_label="not used")
        fig.legend.location = "top_left"
        fig.toolbar.logo = None
        self.laviron_plot.children = [bokeh_widget(fig)]
        cols = [("v", "scan rate", lambda v: f"{v * 1e3:.3g} mV/s"), ("dEp", "separation", lambda v: f"{v * 1e3:.1f} mV"),
                ("sigma", "σ = Fvτ/RT", lambda v: f"{v:.2g}"), ("Lambda", "Λ = k_s/fv", lambda v: f"{v:.3g}"),
                ("ks_app", "apparent k_s", lambda v: f"{v:.3g} 1/s"), ("ks", "k_s", lambda v: f"{v:.3g} 1/s"),
                ("k0", "k0", lambda v: f"{v:.3g} m/s"), ("used", "used", lambda v: "yes" if v else "no")]
        a = lt.attrs
        if not a["n_used"]:
            self.laviron_html.value = (
                _table(lt, cols, highlight=used) +
                "<p><b>k_s not measurable here</b>: no scan rate has a peak separation of at least 10 mV "
                "with σ ≤ 3. Faster scans separate the peaks more (if σ stays small).</p>")
            return
        self.laviron_html.value = (
            _table(lt, cols, highlight=used) +
            f"<p><b>k_s = {a['ks']:.3g} 1/s</b> (apparent {a['ks_app']:.3g} 1/s) from {a['n_used']} scan rate(s); "
            f"<b>k0 = k_s r/3 = {a['k0']:.3g} m/s</b> ({a['k0'] * 100:.3g} cm/s). "
            f"<span style='color:#555'>{html.escape(a['note'])}.</span></p>")

    def _fill_steps(self):
        steps = self.results["steps"]
        opts = [(f"step {j + 1}: → {s.attrs['E']:.3f} V", j) for j, s in enumerate(steps)]
        self.step_select.options = opts
        if opts:
            mid = len(opts) // 2
            if self.step_select.value == opts[mid][1]:
                self._show_fit_panel(mid)
            self.step_select.value = opts[mid][1]
        else:
            self.fit_box.children = [W.HTML("<p>No potential steps to fit.</p>")]

    def _show_fit_panel(self, j):
        from ..kinetics import MODELS

        if j is None:
            return
        s = self.results["steps"][j]
        radius = float(self.results["size"]["radius"])
        model = MODELS["PITTSphereBiot"].make_model(radius=radius)
        t, i = s["t_step"].to_numpy(), s["i"].to_numpy()
        self.panel = FitPanel(t, i, model, params=stick.pitt_start(t, i),
                              models=["PITTSphereBiot", "PITTSphere"], x_label="Time since the step",
                              y_label="Current", export_dir=str(Path.cwd() / "fits"))
        self.fit_box.children = [self.panel.widget]

    def _show_trust(self):
        t = self.results["truth"]
        if t is None:
            self.trust_html.value = "<p>No truth file: this section compares with a simulated example only.</p>"
            return
        r = self.results
        pt, lt, s = r["pitt"], r["laviron"], r["size"]
        rows = [
            {"quantity": "charge Q", "unit": "C", "recovered": s["charge"], "truth": t["Q"],
             "how": "peak area with a linear baseline"},
            {"quantity": "radius r", "unit": "m", "recovered": s["radius"], "truth": t["radius"],
             "how": "Q and the material's density (nbtools.materials)"},
            {"quantity": "formal potential E0", "unit": "V", "recovered": float(r["peaks"]["E_mid"].median()),
             "truth": t["E0"], "how": "mid-peak potential, median over the scan rates"},
        ]
        if pt is not None:
            tau = pt.attrs["tau"]
            rows += [{"quantity": "τ = r²/D", "unit": "s", "recovered": tau, "truth": t["tau"],
                      "how": "PITT, sphere with surface kinetics (Biot), mean of the steps"},
                     {"quantity": "D", "unit": "m²/s", "recovered": s["radius"] ** 2 / tau, "truth": t["D"],
                      "how": "r² / τ"}]
        rows += [{"quantity": "k_s", "unit": "1/s", "recovered": lt.attrs["ks"], "truth": t["ks"],
                  "how": "Laviron peak separation, corrected for diffusion"},
                 {"quantity": "k0", "unit": "m/s", "recovered": lt.attrs["k0"], "truth": t["k0"],
                  "how": "k_s r / 3"}]
        if self.panel is not None and self.panel.result is not None and "D" in self.panel.result.params:
            p = self.panel.result.params
            rows.append({"quantity": "D (FitPanel, one step)", "unit": "m²/s", "recovered": p["D"].value,
                         "truth": t["D"], "how": "section 5 fit"})
        df = stick.truth_comparison(rows)
        df["error"] = [f"{(a - b) * 1e3:+.1f} mV" if u == "V" else f"{e:+.1f} %"
                       for a, b, u, e in zip(df["recovered"], df["truth"], df["unit"], df["error_%"])]
        cols = [("quantity", "quantity", str), ("recovered", "recovered", lambda v: f"{v:.4g}"),
                ("truth", "truth", lambda v: f"{v:.4g}"), ("unit", "unit", str),
                ("error", "error", str), ("how", "how", str)]
        self.results["trust"] = df
        good = np.where(df["unit"] == "V", (df["recovered"] - df["truth"]).abs() <= 0.005,
                        df["error_%"].abs() <= 10)
        self.trust_html.value = (_table(df, cols, highlight=good) +
                                 "<p style='color:#555'>Green: within 10 % (5 mV for potentials) of the "
                                 "truth.</p>")

    # --- section roots --------------------------------------------------------------------
    def _section(self, title, *children):
        head = [W.HTML(f"<h3 style='margin:8px 0 4px 0'>{html.escape(title)}</h3>")] if self.headings else []
        return W.VBox(head + list(children))

    @property
    def data_section(self):
        """Files, material, the voltammograms, peak table, charge, capacity and size."""
        return self._section("1. Data and peaks",
                             W.HBox([self.folder]), W.HBox([self.cv_pattern, self.pitt_file, self.truth_file]),
                             W.HBox([self.material, self.conversion, self.analyse_button, self.upload]),
                             self.status, self.per_scan_rate, self.cv_plot, self.peak_html, self.size_html)

    @property
    def scan_rate_section(self):
        return self._section("2. Surface-confined or diffusion-limited?", self.slope_plot, self.slope_html)

    @property
    def pitt_section(self):
        return self._section("3. Potential steps: τ = r²/D and D", self.pitt_plot, self.pitt_html)

    @property
    def laviron_section(self):
        return self._section("4. Laviron: peak separation to k_s and k0", self.laviron_plot, self.laviron_html)

    @property
    def fit_section(self):
        return self._section("5. Fit one transient yourself", self.step_select, self.fit_box)

    @property
    def trust_section(self):
        refresh = W.Button(description="Compare again", tooltip="include the latest fit of section 5")
        refresh.on_click(self.status.guard(lambda _: self._show_trust()))
        return self._section("6. How far to trust it: recovered against the simulation's truth",
                             self.trust_html, refresh)
