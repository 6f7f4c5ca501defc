"""The table of detected events (a Bokeh DataTable): one row per event, click to select.

:class:`EventTable` draws what it is given (events, which are accepted,
their radii) in display units; a click on a row calls ``on_select(row)``.
"""

from __future__ import annotations

import base64

import numpy as np

from ..impact.export import charge_unit as charge_display_unit, spreadsheet_table
from ..plotting import current_display_unit

__all__ = ["EventTable", "charge_display_unit", "csv_data_uri"]


def csv_data_uri(table, max_bytes: int = 5_000_000) -> str | None:
    """``data:text/csv;base64,...`` of an event table as the spreadsheet CSV (units in the headers,
    :func:`nbtools.impact.export.spreadsheet_table`), or None when larger than ``max_bytes``."""
    data = spreadsheet_table(table).to_csv(index=False).encode()
    if len(data) > max_bytes:
        return None
    return "data:text/csv;base64," + base64.b64encode(data).decode("ascii")


def three_digits(values) -> str:
    """A number format that shows the typical (median) magnitude of ``values`` with three significant
    digits (``'0.0'`` for tens, ``'0.000'`` for ones)."""
    v = np.abs(np.asarray(values, float))
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return "0.00"
    decimals = int(np.clip(2 - np.floor(np.log10(np.median(v))), 0, 6))
    return "0." + "0" * decimals if decimals else "0"


class EventTable:
    """A DataTable of events with their acceptance; units follow the values shown.

    The table keeps one data source: a new detection changes its columns in
    place and only the columns whose values changed are sent to the browser
    (accepting or rejecting an event sends two columns).

    Attributes
    ----------
    table : bokeh.models.DataTable
    source : bokeh.models.ColumnDataSource
        The rows on screen.
    peak_unit, peak_scale, charge_unit, charge_scale
        Display units of the peaks (or step heights) and charges.
    """

    EMPTY = dict(n=[], t_peak=[], peak=[], charge=[], charge_sd=[], radius=[], duration=[], snr=[], accepted=[],
                 status=[], flags=[])

    def __init__(self, on_select):
        from bokeh.models import ColumnDataSource, DataTable, NumberFormatter, StringFormatter, TableColumn

        self.on_select = on_select
        self.peak_unit, self.peak_scale = "pA", 1e12
        self.charge_unit, self.charge_scale = "fC", 1e15

        def num(fmt="0.000"):  # a formatter of its own per column: its format changes in place
            return NumberFormatter(format=fmt)

        self.columns = {
            "n": TableColumn(field="n", title="#", width=40),
            "t_peak": TableColumn(field="t_peak", title="t peak / s", formatter=num("0.0000")),
            "peak": TableColumn(field="peak", title="peak", formatter=num()),
            "charge": TableColumn(field="charge", title="charge", formatter=num()),
            # the SD that the recording's own noise gives this integral
            "charge_sd": TableColumn(field="charge_sd", title="± (noise)", formatter=num()),
            "radius": TableColumn(field="radius", title="radius / nm", formatter=num("0.0")),
            "duration": TableColumn(field="duration", title="duration / ms", formatter=num("0.00")),
            "snr": TableColumn(field="snr", title="SNR", formatter=num("0.0")),
            # text, not BooleanFormatter: its check mark is an icon font that is missing offline
            "status": TableColumn(field="status", title="accepted?", formatter=StringFormatter(), width=80),
            "flags": TableColumn(field="flags", title="note", formatter=StringFormatter(), width=260),
        }
        self.source = ColumnDataSource(data=dict(self.EMPTY))
        self.source.selected.on_change("indices", self._on_indices)
        self._hidden = None
        self._redraws = 0
        # a fixed width: a stretching DataTable inside an ipywidgets flex box renders empty
        self.table = DataTable(source=self.source, columns=list(self.columns.values()), height=230, width=1100,
                               index_position=None, selectable=True, sortable=True)

    def _on_indices(self, attr, old, new):
        self.on_select(int(new[0]) if new else None)

    def units(self, events, fallback_scale: float) -> None:
        """Choose the display units for ``events`` (peaks: ``fallback_scale`` when there are none)."""
        q = np.abs(events["charge"].to_numpy(float)) if len(events) else np.zeros(0)
        self.charge_unit, self.charge_scale = charge_display_unit(float(np.nanmedian(q)) if np.isfinite(q).any()
                                                                  else 1e-15)
        pk = np.abs(events["peak"].to_numpy(float)) if len(events) else np.zeros(0)
        self.peak_unit, self.peak_scale = current_display_unit(float(np.nanmax(pk)) if np.isfinite(pk).any()
                                                               else 1.0 / fallback_scale)

    def show(self, events, accepted, radii, *, steps: bool) -> None:
        """Rows of ``events`` (``accepted`` bool per row, ``radii`` in m); steps hide charge, size and duration."""
        tc = self.columns
        tc["peak"].title = f"{'step' if steps else 'peak'} / {self.peak_unit}"  # Bokeh sends only real changes
        tc["charge"].title = f"charge / {self.charge_unit}"
        tc["charge_sd"].title = f"± noise / {self.charge_unit}"
        hidden = frozenset({"charge", "charge_sd", "radius", "duration"} if steps else ())
        if hidden != self._hidden:
            self._hidden = hidden
            self.table.columns = [c for k, c in tc.items() if k not in hidden]
        formats = [c.formatter.format for c in tc.values() if hasattr(c.formatter, "format")]
        data = dict(self.EMPTY)
        if len(events):
            flags = events["flags"].astype(str).to_numpy() if "flags" in events else np.full(len(events), "")
            accepted = np.asarray(accepted, bool)
            data = dict(n=np.arange(len(events)), t_peak=events["t_peak"].to_numpy(float),
                        peak=events["peak"].to_numpy(float) * self.peak_scale,
                        charge=events["charge"].to_numpy(float) * self.charge_scale,
                        charge_sd=events["charge_sd"].to_numpy(float) * self.charge_scale,
                        radius=np.asarray(radii, float) * 1e9, duration=events["duration"].to_numpy(float) * 1e3,
                        snr=events["snr"].to_numpy(float), accepted=accepted,
                        status=np.where(accepted, "yes", "REJECTED"), flags=flags)
            for key in ("peak", "charge", "charge_sd", "radius", "duration"):  # about 3 significant digits
                tc[key].formatter.format = three_digits(data[key])
        self._update(data, formats != [c.formatter.format for c in tc.values() if hasattr(c.formatter, "format")])

    def _update(self, data, redraw: bool) -> None:
        """Put ``data`` into the source, sending only the columns that changed. A DataTable redraws by
        itself only when its number of rows changes (BokehJS 3.9): otherwise a change of ``tags`` asks
        it to (checked in Chromium)."""
        self.source.selected.indices = []  # rows are other events now
        old = self.source.data
        n_old, n_new = len(old["n"]), len(data["n"])
        if n_old != n_new:
            self.source.data = data
            return
        changed = {k: v for k, v in data.items() if not _same_column(old.get(k), v)}
        if changed:
            self.source.data.update(changed)
        elif not redraw:
            return
        self._redraws += 1
        self.table.tags = [self._redraws]  # formats and columns changed in place are drawn too


def _same_column(a, b) -> bool:
    """True when two columns hold the same values (NaN equal to NaN)."""
    if a is None:
        return False
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
