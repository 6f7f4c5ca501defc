"""``report.html``: one self-contained page per study (BokehJS inline: it opens offline, from a USB stick).

Sections: what was run (recipe, counts, notes), one row per file (status,
message, the technique's summary), the population plots (distribution per
condition, property against size on log-log axes with the fitted slope,
impact frequency against concentration with the proportional fit), and the
statistics tables. Scatter plots show at most :data:`MAX_POINTS` entities
(a seeded random subset, said in the caption); the statistics use all.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from .population import ABSOLUTE, PROPERTIES, SIZE_RELATIONS
from .store import atomic_write

__all__ = ["write_report", "report_html", "html_table", "fmt", "si_axis", "shown_distributions", "MAX_POINTS"]

#: most points drawn in one scatter plot
MAX_POINTS = 20_000
_SI_UNITS = ("A", "C", "m", "s", "V", "Hz", "Ah", "B", "kg")
_PREFIX = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"),
           (1e-15, "f"), (1e-18, "a"))
_COLUMNS = {"impact": ["n_events", "frequency (95 % interval)", "noise", "threshold_A", "false_events", "duration",
                       "blank"],
            "seccm": ["n_pixels", "n_landed", "n_particles", "n_fitted", "map_median", "status_counts"],
            "stick": ["radius", "charge", "E0", "D", "ks", "k0", "regime"],
            "gitt": ["n_pulses", "n_analysed", "D_mean", "D_err", "noise", "notes"]}
_STATUS_COLOURS = {"ok": "#1a7f37", "warning": "#9a6700", "failed": "#cf222e"}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1250px;color:#1f2328}
h1{font-size:1.6em;margin-bottom:4px} h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} th,td{border:1px solid #d0d7de;padding:3px 7px;
text-align:left;vertical-align:top} th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#656d76} .note{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;margin:6px 0}
.scroll{max-height:520px;overflow:auto;border:1px solid #d0d7de} .msg{max-width:420px}
"""


def fmt(value, unit: str = "") -> str:
    """A number for a table: SI prefixes for SI units (``2.5e-12, 'A'`` -> ``'2.5 pA'``), else 3 digits."""
    if value is None or isinstance(value, str) or isinstance(value, (bool, np.bool_)):
        return "" if value is None else str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return ""
    if unit in _SI_UNITS and v != 0:
        base = unit
        for factor, prefix in _PREFIX:
            if abs(v) >= factor * 0.9995:
                return f"{v / factor:.3g} {prefix}{base}"
        return f"{v:.3g} {unit}"
    if float(v).is_integer() and abs(v) < 1e9:
        return f"{int(v)}{' ' + unit if unit else ''}"
    return f"{v:.3g}{' ' + unit if unit else ''}"


def _esc(text) -> str:
    return html.escape(str(text))


def html_table(df: pd.DataFrame, units: dict, *, max_rows: int | None = None, classes: dict | None = None) -> str:
    if df is None or len(df) == 0:
        return "<p class='muted'>(none)</p>"
    shown = df if max_rows is None else df.head(max_rows)
    head = "".join(f"<th>{_esc(c)}{(' / ' + _esc(units[c])) if units.get(c) else ''}</th>" for c in shown.columns)
    rows = []
    for _, r in shown.iterrows():
        cells = []
        for c in shown.columns:
            v = r[c]
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
            text = fmt(v) if num else ("" if v is None or v is pd.NA else str(v))
            style = ""
            if classes and c in classes:
                style = f" style='color:{classes[c].get(str(v), 'inherit')};font-weight:600'"
            if c == "message" and text:
                cells.append(f"<td class='msg' title='{_esc(text)}'>{_esc(text[:160])}"
                             f"{'…' if len(text) > 160 else ''}</td>")
            else:
                cells.append(f"<td{' class=num' if num else ''}{style}>{_esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class='muted'>first {max_rows} of {len(df)} rows (all in the CSV)</p>" if max_rows and len(df) > max_rows else ""
    return f"<div class='scroll'><table><tr>{head}</tr>{''.join(rows)}</table></div>{more}"


def _scaled(df: pd.DataFrame, units: dict, columns) -> tuple[pd.DataFrame, dict]:
    """Columns of SI values shown with prefixes (as text), so a table reads '25 nm' not '2.5e-08'."""
    out = df.copy()
    for c in columns:
        if c in out and units.get(c) in _SI_UNITS:
            out[c] = [fmt(v, units[c]) for v in out[c]]
    return out, {c: u for c, u in units.items() if u not in _SI_UNITS}


# ------------------------------------------------------------------ plots
_TICKS = r"""
const prefixes = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n'],
                  [1e-12, 'p'], [1e-15, 'f'], [1e-18, 'a']];
if (tick === 0) { return '0'; }
const a = Math.abs(tick);
for (const [f, p] of prefixes) {
  if (a >= f * 0.9995) {
    const t = (tick / f).toPrecision(3).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
    return t + ' ' + p + unit;
  }
}
return tick.toExponential(2) + ' ' + unit;
"""


def si_axis(axis, name, unit, prefixed=False):
    """Axis label ``name``; ticks with SI prefixes for SI units ('25 nm'), else the unit in the label."""
    from bokeh.models import CustomJSTickFormatter

    if unit in _SI_UNITS or prefixed:
        axis.axis_label = name
        axis.formatter = CustomJSTickFormatter(args={"unit": unit}, code=_TICKS)
    else:
        axis.axis_label = f"{name} / {unit}" if unit else name


def _colours(n):
    from bokeh.palettes import Category10_10

    return [Category10_10[i % 10] for i in range(n)]


def _groups(pop):
    if "condition" in pop and pop["condition"].nunique() > 1:
        return [(str(g), sub) for g, sub in pop.groupby("condition", sort=True)]
    return [("all", pop)]


def _histogram(pop, col, unit):
    from bokeh.plotting import figure

    from .statistics import grouped_histogram

    h = grouped_histogram(pop, col, "condition", absolute=col in ABSOLUTE)
    p = figure(width=560, height=300, x_axis_type="log" if h.attrs["log"] else "linear",
               title=f"{col}{' (magnitude)' if col in ABSOLUTE else ''}", toolbar_location="right")
    si_axis(p.xaxis, col, unit)
    p.yaxis.axis_label = "fraction of the condition's entities"
    names = list(dict.fromkeys(h["group"]))
    for name, colour in zip(names, _colours(len(names))):
        g = h[h["group"] == name]
        n = int(g["count"].sum())
        if n == 0:
            continue
        y = g["fraction"].to_numpy()
        p.step(x=np.r_[g["left"].to_numpy(), g["right"].iloc[-1]], y=np.r_[y, y[-1]], mode="after", line_width=2,
               color=colour, legend_label=f"{name} (n={n})")
    p.legend.location = "top_right"
    p.legend.click_policy = "hide"
    return p


def _scatter(pop, x, y, units, fit):
    from bokeh.plotting import figure

    p = figure(width=560, height=320, x_axis_type="log", y_axis_type="log", title=f"{y} against {x}",
               toolbar_location="right")
    si_axis(p.xaxis, x, units.get(x, ""))
    si_axis(p.yaxis, f"|{y}|" if y in ABSOLUTE else y, units.get(y, ""))
    groups = _groups(pop)
    rng = np.random.default_rng(0)
    for (name, sub), colour in zip(groups, _colours(len(groups))):
        xv, yv = np.abs(sub[x].to_numpy(float)), np.abs(sub[y].to_numpy(float))
        ok = np.isfinite(xv) & np.isfinite(yv) & (xv > 0) & (yv > 0)
        xv, yv = xv[ok], yv[ok]
        share = int(MAX_POINTS * len(sub) / max(len(pop), 1))
        if xv.size > share > 0:
            pick = rng.choice(xv.size, share, replace=False)
            xv, yv = xv[pick], yv[pick]
        p.scatter(xv, yv, size=4, alpha=0.5, color=colour, legend_label=name)
    if fit is not None and np.isfinite(fit.get("slope", np.nan)):
        xs = np.abs(pop[x].to_numpy(float))
        xs = xs[np.isfinite(xs) & (xs > 0)]
        line = np.array([xs.min(), xs.max()])
        p.line(line, 10 ** (fit["intercept"] + fit["slope"] * np.log10(line)), color="black", line_width=2,
               legend_label=f"slope {fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]")
    p.legend.location = "top_left"
    return p


def _frequency_plot(files, freq):
    from bokeh.models import Whisker
    from bokeh.plotting import ColumnDataSource, figure

    ok = files[(files["status"] != "failed") & np.isfinite(pd.to_numeric(files.get("concentration"),
                                                                          errors="coerce"))]
    p = figure(width=560, height=320, x_axis_type="log", y_axis_type="log",
               title="impact frequency against concentration", toolbar_location="right")
    si_axis(p.xaxis, "concentration", "M", prefixed=True)  # shown in mol/L: '10 pM'; the tables keep mol/m^3
    si_axis(p.yaxis, "frequency", "1/s")
    f = ok["frequency"].to_numpy(float)
    src = ColumnDataSource({"c": ok["concentration"].to_numpy(float) / 1e3, "f": np.where(f > 0, f, np.nan),
                            "lo": np.maximum(ok["frequency_low"].to_numpy(float), 1e-300),
                            "hi": ok["frequency_high"].to_numpy(float)})
    p.scatter("c", "f", source=src, size=7, alpha=0.6, legend_label="recordings (95 % Poisson interval)")
    p.add_layout(Whisker(source=src, base="c", lower="lo", upper="hi", line_alpha=0.5))
    table = freq["table"]
    if len(table):
        p.scatter(table["concentration"] / 1e3, table["frequency"], size=11, marker="diamond", color="#cf222e",
                  legend_label="pooled per concentration")
        c = np.array([table["concentration"].min(), table["concentration"].max()])
        if np.isfinite(freq["k"]) and freq["k"] > 0:
            p.line(c / 1e3, freq["k"] * c, color="black", line_width=2, legend_label=f"f = k c, k = {freq['k']:.3g}")
    p.legend.location = "top_left"
    return p


def _plots(study):
    tech, pop, units = study.technique, study.population, study.units
    plots = []
    good = pop[(pop["quality"] == "ok") & (pop["file_status"] != "failed")] if len(pop) else pop
    if len(good):
        for col in [c for c in PROPERTIES[tech] if c in good][:2]:
            if np.isfinite(pd.to_numeric(good[col], errors="coerce")).any():
                plots.append(_histogram(good, col, units.get(col, "")))
        slopes = study.statistics.get("slopes")
        for x, y in SIZE_RELATIONS[tech]:
            if x in good and y in good:
                fit = None
                if slopes is not None and len(slopes):
                    hit = slopes[(slopes["x"] == x) & (slopes["y"] == y)]
                    fit = hit.iloc[0].to_dict() if len(hit) else None
                plots.append(_scatter(good, x, y, units, fit))
    freq = study.statistics.get("frequency")
    if tech == "impact" and freq:
        plots.append(_frequency_plot(study.files, freq))
    return plots


# ------------------------------------------------------------------ page
def _header(study) -> str:
    m = study.manifest
    c = m.get("counts", {})
    status = ", ".join(f"<span style='color:{_STATUS_COLOURS[s]}'>{c.get(s, 0)} {s}</span>"
                       for s in ("ok", "warning", "failed"))
    notes = list(study.statistics.get("notes") or [])
    if m.get("other_kind"):
        notes.append(f"{len(m['other_kind'])} file(s) hold another kind of data and were not analysed: "
                     + ", ".join(_esc(p) for p in m["other_kind"][:5]) + (" ..." if len(m["other_kind"]) > 5 else ""))
    if m.get("unpaired") and m.get("technique") == "impact":
        notes.append(f"{len(m['unpaired'])} recording(s) without a blank: their false events are the Gaussian "
                     "noise model's estimate")
    if m.get("conditions_unmatched"):
        notes.append(f"{len(m['conditions_unmatched'])} file(s) not named in the conditions table keep their "
                     "folder's label")
    notes_html = "".join(f"<div class='note'>{_esc(n)}</div>" for n in notes)
    recipe = study.recipe
    changed = recipe.changed()
    settings = ", ".join(f"{k} = {json.dumps(v)}" for k, v in changed.items()) or "all defaults"
    return (f"<h1>Study: {_esc(recipe.kind)} over {c.get('files', 0)} file(s)</h1>"
            f"<p class='muted'>nbtools {_esc(m.get('nbtools', ''))} · updated {_esc(m.get('updated', ''))} · "
            f"folder {_esc(m.get('out', ''))}</p>"
            f"<p>{c.get('files', 0)} file(s): {status}; {c.get('reused', 0)} reused from an earlier run, "
            f"{c.get('computed', 0)} analysed in this run; {c.get('entities', 0)} entities in the population "
            f"(population.csv).</p>{notes_html}"
            f"<h2>Recipe</h2><p>{_esc(recipe.kind)}, digest <code>{recipe.digest()[:16]}</code>; settings "
            f"changed from the defaults: <code>{_esc(settings)}</code></p>"
            f"<details><summary>full recipe (recipe.json)</summary><pre>{_esc(recipe.to_json())}</pre></details>")


def _files_section(study) -> str:
    f = study.files.copy()
    if {"frequency", "frequency_low", "frequency_high"} <= set(f.columns):
        f["frequency"] = [f"{fmt(v)} [{fmt(lo)}, {fmt(hi)}]" if v == v else ""
                          for v, lo, hi in zip(f["frequency"], f["frequency_low"], f["frequency_high"])]
        f = f.rename(columns={"frequency": "frequency (95 % interval)"})
    if "blank" in f:
        f["blank"] = [Path(b).name if isinstance(b, str) else "" for b in f["blank"]]
    cols = ["name", "condition", "status", "message"] + (["reused"] if f["reused"].any() else [])
    cols += [c for c in _COLUMNS[study.technique] if c in f and c not in cols]
    extra = [c for c in ("concentration", "potential") if c in f]
    shown = f[cols[:2] + extra + cols[2:]].copy()
    units = {**study.manifest.get("label_units", {}), **_file_units(study), "frequency (95 % interval)": "1/s"}
    shown, units = _scaled(shown, units, shown.columns)
    return ("<h2>Files</h2><p class='muted'>One row per file (files.csv has every column; each file's tables are in "
            "files/&lt;name&gt;-&lt;id&gt;/).</p>"
            + html_table(shown, units, classes={"status": _STATUS_COLOURS}))


def _file_units(study):
    from .columns import units_for

    return units_for(study.technique)


def shown_distributions(dist: pd.DataFrame, units: dict) -> pd.DataFrame:
    """The distributions table with each value as text in its property's unit ('23 nm')."""
    d = dist.copy()
    for c in ("median", "median_low", "median_high", "mean", "mean_low", "mean_high", "q25", "q75"):
        d[c] = [fmt(v, units.get(col, "")) for v, col in zip(d[c], d["column"])]
    return d


def _stats_section(study) -> str:
    s, units = study.statistics, study.units
    parts = ["<h2>Statistics</h2><p class='muted'>Entities with quality 'ok' from files that did not fail. "
             "Medians with exact bootstrap 95 % intervals, means with percentile bootstrap intervals.</p>"]
    dist = s.get("distributions")
    if dist is not None and len(dist):
        parts.append("<h3>Distributions</h3>" + html_table(shown_distributions(dist, units), {}))
    tests = s.get("tests")
    if tests is not None and len(tests):
        t = tests.drop(columns=[c for c in ("left_out", "by") if c in tests])
        parts.append("<h3>Conditions compared (rank tests)</h3>" + html_table(t, {}))
        pairs = s.get("pairs")
        if pairs is not None and len(pairs):
            p = pairs.copy()
            for c in ("median_a", "median_b"):
                p[c] = [fmt(v, units.get(col, "")) for v, col in zip(p[c], p["column"])]
            parts.append("<p class='muted'>Pairs: Mann-Whitney U, Holm-adjusted p; Cliff's delta &gt; 0 when a "
                         "is larger.</p>" + html_table(p, {}))
    slopes = s.get("slopes")
    if slopes is not None and len(slopes):
        parts.append("<h3>Property against size (log-log slope)</h3>" + html_table(slopes, {}))
    freq = s.get("frequency")
    if freq:
        row = {k: v for k, v in freq.items() if k != "table"}
        parts.append("<h3>Frequency against concentration</h3><p>f = k c: k = "
                     f"{fmt(row['k'])} [{fmt(row['k_low'])}, {fmt(row['k_high'])}] s⁻¹ per mol m⁻³; "
                     f"goodness of fit p = {fmt(row['p_fit'])} (dispersion {fmt(row['dispersion'])}); log-log "
                     f"slope {fmt(row['slope'])} [{fmt(row['slope_low'])}, {fmt(row['slope_high'])}] "
                     "(1 for proportionality).</p>" + html_table(freq["table"], {"concentration": "mol/m3",
                                                                          "time": "s", "frequency": "1/s"}))
    return "".join(parts)


def report_html(study) -> str:
    """The report of a :class:`~nbtools.study.Study` as one HTML document (BokehJS inline)."""
    from bokeh.embed import components
    from bokeh.layouts import gridplot
    from bokeh.resources import INLINE

    plots = _plots(study)
    script, div = components(gridplot(plots, ncols=2, toolbar_location="right")) if plots else ("", "")
    body = (_header(study) + _files_section(study)
            + ("<h2>Population</h2>" + (f"<p class='muted'>At most {MAX_POINTS} points per scatter plot "
                                         "(a random subset); the statistics use every entity.</p>" if plots else "")
               + (div or "<p class='muted'>No entities to plot.</p>"))
            + _stats_section(study))
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>nbtools study: {_esc(study.recipe.kind)}</title><style>{_CSS}</style>"
            f"{INLINE.render() if plots else ''}{script}</head><body>{body}"
            f"<p class='muted'>Written by nbtools at {when}.</p></body></html>")


def write_report(study):
    """Write ``study.out / 'report.html'`` (atomically); returns its path."""
    text = report_html(study)
    return atomic_write(study.report, lambda tmp: tmp.write_text(text, encoding="utf-8"))
