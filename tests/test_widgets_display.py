"""Widgets without a browser: ErrorDisplay, bokeh_widget, TraceView, TraceLoader."""

from __future__ import annotations

import numpy as np
import pytest

from nbtools import Trace
from nbtools.errors import FormatError, ParameterError
from nbtools.widgets import ErrorDisplay, TraceView, bokeh_widget


def test_guard_shows_nbtools_error_message():
    status = ErrorDisplay()

    @status.guard
    def cb(_):
        raise FormatError("run1.txt: expected a 'Time/sec' column, found none")

    assert cb(None) is None  # swallowed, not raised
    assert "nbtools-error" in status.value
    assert "run1.txt: expected a &#x27;Time/sec&#x27; column" in status.value
    assert "Traceback" not in status.value
    assert isinstance(status.last_error, FormatError)


def test_guard_shows_unexpected_error_with_location():
    status = ErrorDisplay()

    @status.guard
    def cb():
        return {}["missing"]

    cb()
    assert "Unexpected error KeyError" in status.value and "Please report it" in status.value
    assert "test_widgets_display.py" in status.value


def test_status_levels_and_clear():
    status = ErrorDisplay()
    status.info("ok <b>")
    assert "nbtools-info" in status.value and "&lt;b&gt;" in status.value
    status.warning("careful")
    assert "Warning: careful" in status.value
    status.clear()
    assert status.value == ""
    assert "nbtools-status" in status._dom_classes


def test_bokeh_widget_returns_an_ipywidget():
    import ipywidgets as W
    from bokeh.plotting import figure

    fig = figure()
    fig.line([0, 1], [0, 1])
    w = bokeh_widget(fig)
    assert isinstance(w, W.DOMWidget)


def long_trace(n=1_000_000, fs=1e5):
    rng = np.random.default_rng(0)
    y = rng.normal(0, 2e-12, n)
    y[123_456] = 500e-12  # a one-sample spike
    return Trace(y, fs=fs, source="/data/long.abf")


def test_traceview_initial_view_is_bounded_and_labelled():
    tr = long_trace()
    view = TraceView(tr, max_points=1500)
    t = view.source.data["t"]
    assert len(t) <= 1500
    assert view.unit == "pA" and view.figure.yaxis.axis_label == "Current / pA"
    assert view.figure.xaxis.axis_label == "Time / s"
    assert view.source.data["y"].max() == pytest.approx(500.0)  # the spike survives, in pA
    assert view.figure.title.text == "long.abf"
    assert view.window == (0.0, pytest.approx((len(tr) - 1) / tr.fs))


def test_traceview_reacts_to_range_update_event():
    from bokeh.events import RangesUpdate

    tr = long_trace()
    view = TraceView(tr, max_points=800)
    view.figure._trigger_event(RangesUpdate(view.figure, x0=1.0, x1=1.01, y0=-1.0, y1=1.0))
    t = view.source.data["t"]
    assert len(t) <= 800
    assert t[0] <= 1.0 and t[-1] >= 1.01 and t[-1] - t[0] < 0.0101
    # 10 ms at 100 kHz = 1000 samples > 800: downsampled; a 1 ms window is drawn whole
    view.figure._trigger_event(RangesUpdate(view.figure, x0=1.0, x1=1.001))
    assert len(view.source.data["t"]) == 102


def test_traceview_zoom_to_and_redraw():
    tr = long_trace()
    view = TraceView(tr, max_points=500)
    view.zoom_to(1.2, 1.3)
    assert view.window == (1.2, 1.3)
    assert view.source.data["y"].max() == pytest.approx(500.0)
    assert view.redraw() <= 500
    with pytest.raises(ParameterError, match="t1 > t0"):
        view.zoom_to(2.0, 1.0)


def test_traceview_unit_follows_trace_and_overlays_scale():
    view = TraceView(max_points=500)
    assert view.redraw() == 0  # no trace yet: nothing to do
    view.set_trace(Trace(np.linspace(0, 3e-9, 1000), fs=10.0))
    assert view.unit == "nA"
    view.add_overlay("events", [1.0, 2.0], [1e-9, 2e-9])
    np.testing.assert_allclose(view.source.data["y"].max(), 3.0)
    assert len(view.figure.renderers) == 2
    assert view.has_overlay("events") and not view.has_overlay("fit")
    view.update_overlay("events", [5.0], [0.5e-9])
    span = view.add_hline("threshold", 1.5e-9)
    assert span.location == pytest.approx(1.5)
    view.set_trace(Trace(np.linspace(0, 3e-12, 1000), fs=10.0))  # new unit, overlays dropped
    assert view.unit == "pA" and len(view.figure.renderers) == 1
    assert span.location == pytest.approx(1500.0)
    with pytest.raises(ParameterError, match="kind"):
        view.add_overlay("x", [0], [0], kind="bar")


def test_traceloader_opens_example_and_reports_errors(tmp_path):
    from nbtools.widgets import TraceLoader

    opened = []

    def fake_load_trace(path, **options):
        if str(path).endswith(".bad"):
            raise FormatError(f"{path}: not a recording")
        return Trace(np.zeros(100), fs=10.0, source=str(path))

    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "a_events.csv").write_text("x")
    (tmp_path / "notes.md").write_text("x")
    loader = TraceLoader(tmp_path, reader=fake_load_trace)
    assert [o[0] for o in loader.example.options] == ["a.csv"]
    loader.observe(lambda ch: opened.append(ch["new"]), names="trace")
    loader.load_example()
    assert len(opened) == 1 and "Opened a.csv" in loader.status.value
    loader.path.value = str(tmp_path / "missing.abf")
    loader.open_button.click()
    assert "no such file" in loader.status.value and "nbtools-error" in loader.status.value
    bad = tmp_path / "x.bad"
    bad.write_text("?")
    loader.path.value = str(bad)
    loader.open_button.click()
    assert "not a recording" in loader.status.value
    assert len(opened) == 1


def test_traceloader_shows_reader_warnings_and_reads_uploads(tmp_path):
    import warnings

    from nbtools.errors import NbtoolsWarning
    from nbtools.widgets import TraceLoader

    seen = []

    def reader(path, **options):
        seen.append((path, options))
        warnings.warn("time column rebuilt from the sample index", NbtoolsWarning)
        return Trace(np.zeros(10), fs=1.0, source=str(path))

    loader = TraceLoader(None, reader=reader, load_options={"channel": 1})
    assert loader.example.value == ""  # no examples: nothing to open
    assert loader.load_example() is None
    loader._on_upload({"new": ({"name": "my run.abf", "content": memoryview(b"ABF2....")},)})
    path, options = seen[-1]
    assert options == {"channel": 1}
    assert path.name == "my run.abf" and path.read_bytes() == b"ABF2...."
    assert tmp_path not in path.parents  # copied to a temporary folder
    assert "my run.abf (uploaded)" in loader.status.value
    assert "Warning:" in loader.status.value and "time column rebuilt" in loader.status.value


def test_traceloader_offers_channels_and_rereads(tmp_path):
    from nbtools.widgets import TraceLoader

    calls = []

    def reader(path, channel=0, **options):
        calls.append(channel)
        chans = ["Time / s", "Imemb (nA)", "10_Vm (mV)"]
        name = chans[1] if channel == 0 else channel
        return Trace(np.zeros(10), fs=1.0, source=str(path), meta={"channels": chans, "channel": name})

    loader = TraceLoader(None, reader=reader)
    assert loader.channel.layout.display == "none"
    loader.load(tmp_path / "x.abf")
    assert loader.channel.layout.display is None
    assert list(loader.channel.options) == ["Imemb (nA)", "10_Vm (mV)"]  # the time column is not offered
    assert calls == [0]  # showing the choice did not re-read
    loader.channel.value = "10_Vm (mV)"
    assert calls == [0, "10_Vm (mV)"] and loader.trace.meta["channel"] == "10_Vm (mV)"


def test_traceloader_hides_channels_for_single_current(tmp_path):
    from nbtools.widgets import TraceLoader

    def reader(path, **options):
        return Trace(np.zeros(10), fs=1.0, meta={"channels": ["current", "fs", "t0"], "channel": "current",
                                                 "warnings": ["time rebuilt from the sample index"]})

    loader = TraceLoader(None, reader=reader)
    loader.load(tmp_path / "x.npz")
    assert loader.channel.layout.display == "none"
    assert "Warning:" in loader.status.value and "time rebuilt" in loader.status.value


def test_traceview_current_axis_follows_the_window():
    y = np.zeros(100_000)
    y[:50_000] = 1e-9  # 1 nA for the first half, 0 after
    y[75_000] = 20e-12  # a small spike in the second half
    view = TraceView(Trace(y, fs=1e4), max_points=500)
    assert view.figure.y_range.start < 0 and view.figure.y_range.end > 1.0  # nA, whole trace
    view.zoom_to(6.0, 9.0)  # second half only: 0 and the 20 pA spike
    assert view.figure.y_range.end == pytest.approx(0.020 * 1.05, rel=1e-6)
    view.auto_y = False
    view.zoom_to(0.0, 1.0)
    assert view.figure.y_range.end == pytest.approx(0.020 * 1.05, rel=1e-6)  # left alone


def test_traceview_survives_nan_gaps():
    y = np.random.default_rng(0).normal(0, 1e-12, 100_000)
    y[500:600] = np.nan  # e.g. a lazily opened file whose gap was not checked
    view = TraceView(Trace(y, fs=1e3), max_points=500)
    assert view.unit == "pA"
    assert np.isfinite([view.figure.y_range.start, view.figure.y_range.end]).all()
    view.zoom_to(0.5, 0.6)  # a window of NaN only: keeps the previous axis
    assert np.isfinite([view.figure.y_range.start, view.figure.y_range.end]).all()
