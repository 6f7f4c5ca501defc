"""Bokeh inside ipywidgets (offline), and errors shown to the user.

Three small parts every widget uses:

- :func:`bokeh_widget` turns a Bokeh layout into an ipywidget (jupyter_bokeh),
  loading BokehJS from inline resources first, so that plots render in
  JupyterLab and Voila without a network connection.
- :func:`hold_patches`: the Bokeh changes made inside go to the browser
  together, one PATCH-DOC per plot at the end, arrays inline (3 comm
  messages; jupyter_bokeh alone sends each property change as its own
  PATCH-DOC, 3 messages + 2 per array).
- :class:`ErrorDisplay` is a status line; its :meth:`~ErrorDisplay.guard`
  wraps callbacks so that an exception is shown in the dashboard instead of
  vanishing (Voila and JupyterLab hide callback tracebacks), and holds their
  Bokeh changes (:func:`hold_patches`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import html
import os
import re
import traceback

import ipywidgets as W

from ..errors import NbtoolsError

__all__ = ["bokeh_widget", "hold_patches", "load_bokehjs", "ErrorDisplay", "plain_names"]

_bokehjs_loaded = False
_held = {"depth": 0, "widgets": []}  # hold_patches(): nesting depth, widgets with changes waiting


def load_bokehjs(force: bool = False) -> None:
    """Load BokehJS into the notebook page from inline resources (no CDN).

    Called by :func:`bokeh_widget`; call it yourself at the top of a notebook
    when the first Bokeh widget is created later, in a callback. Under
    ``nbtools serve`` (environment ``NBTOOLS_BOKEHJS=page``) the page itself
    loads BokehJS once from the server, and nothing is inlined; plain
    ``bokeh.plotting.show(p)`` draws into the page in both cases.
    """
    global _bokehjs_loaded
    if _bokehjs_loaded and not force:
        return
    from IPython.display import Javascript, display

    if os.environ.get("NBTOOLS_BOKEHJS") == "page":  # nbtools serve: the page loads it once, cached
        from bokeh.io.state import curstate

        curstate().output_notebook()  # bokeh.plotting.show(p) draws into the page, nothing inlined
    else:
        from bokeh.io import output_notebook
        from bokeh.resources import INLINE

        output_notebook(INLINE, hide_banner=True)

    display(Javascript(_NO_ECHO_JS))
    _bokehjs_loaded = True


#: jupyter_bokeh 4.1 sends every change of a plot's document back to the kernel, also the changes the kernel
#: just sent (BokehJS marks those ``sync = false``; Bokeh's own server client drops them): the data of every
#: update came back and was decoded and set again in Python. This drops them for the listeners that take single
#: events (jupyter_bokeh's view; BokehJS's own listeners take batches and filter by ``sync`` themselves).
_NO_ECHO_JS = """
(function patch(tries) {
  if (!(window.Bokeh && window.Bokeh.require)) {
    if (tries < 500) { setTimeout(function () { patch(tries + 1); }, 20); }
    return;
  }
  var Document = window.Bokeh.require("document").Document;
  var ev = window.Bokeh.require("document/events");
  var P = Document.prototype;
  if (P.__nbtools_no_echo) { return; }
  P.__nbtools_no_echo = true;
  var kinds = [ev.ModelChangedEvent, ev.ColumnDataChangedEvent, ev.ColumnsStreamedEvent,
               ev.ColumnsPatchedEvent].filter(function (c) { return c; });
  function fromKernel(e) {
    return e.sync === false && kinds.some(function (c) { return e instanceof c; });
  }
  P._trigger_on_change = function (event) {
    var batch = ev.DocumentEventBatch && event instanceof ev.DocumentEventBatch;
    for (var [callback, allow_batches] of this._callbacks) {
      if (allow_batches) { callback(event); }
      else if (batch) { for (var e of event.events) { if (!fromKernel(e)) { callback(e); } } }
      else if (!fromKernel(event)) { callback(event); }
    }
  };
})(0);
"""


def bokeh_widget(layout):
    """Return an ipywidget showing a Bokeh layout (a ``jupyter_bokeh.BokehModel``).

    Parameters
    ----------
    layout : bokeh.model.Model
        A figure or layout. One layout per widget: Bokeh models (sources,
        ranges) must not be shared between two widgets.
    """
    load_bokehjs()
    return _batched_model_class()(layout)


@contextlib.contextmanager
def hold_patches():
    """Send the Bokeh changes made inside this block at its end, one message per plot.

    The changes keep their order; changes of one data source's columns are sent once.
    Nested blocks send at the end of the outermost one; an exception still
    sends what was changed. Every :meth:`ErrorDisplay.guard` callback runs in one.

    Examples
    --------
    >>> from bokeh.plotting import figure
    >>> f = figure(); w = bokeh_widget(f)
    >>> with hold_patches():
    ...     f.title.text = "a"; f.title.text = "b"  # one message
    """
    _held["depth"] += 1
    try:
        yield
    finally:
        _held["depth"] -= 1
        if _held["depth"] == 0:
            widgets, _held["widgets"] = _held["widgets"], []
            for w in widgets:
                w._flush()


@functools.cache
def _batched_model_class():
    from jupyter_bokeh import widgets

    class BokehModel(widgets.BokehModel):  # same name: code and tests look widgets up by it
        """A jupyter_bokeh BokehModel whose document changes wait for the end of :func:`hold_patches`
        and then go as one PATCH-DOC message (the browser side is jupyter_bokeh's own)."""

        def __init__(self, model, **kwargs):
            self._pending = []
            super().__init__(model, **kwargs)

        def _document_patched(self, event) -> None:
            if event.setter is self:  # a change the browser made
                return
            if not _held["depth"]:
                self._send_events([event])
                return
            if _structural(event):  # a plot's parts change: BokehJS builds their views between messages
                self._flush()
                self._send_events([event])
                return
            if not self._pending:
                _held["widgets"].append(self)
            if not any(_combine(old, event) for old in self._pending):
                self._pending.append(event)

        def _flush(self) -> None:
            events, self._pending = self._pending, []
            if events and self._document is not None:
                self._send_events(events)

        def _send_events(self, events) -> None:
            for msg in _patch_messages(events):
                for part in (msg.header_json, msg.metadata_json, msg.content_json):
                    self.send({"msg": "patch", "payload": part})
                for buffer in msg.buffers:
                    self.send({"msg": "patch", "payload": json.dumps(buffer.ref)})
                    self.send({"msg": "patch"}, [buffer.to_bytes()])

    return BokehModel


def _patch_messages(events):
    """PATCH-DOC messages of ``events`` (one per document), arrays inline as base64: 3 comm messages each,
    where Bokeh's own ``Protocol().create`` makes 2 more per array (its buffers)."""
    from bokeh.core.serialization import Serializer
    from bokeh.document.json import PatchJson
    from bokeh.protocol.messages.patch_doc import patch_doc

    docs = {}
    for event in events:
        docs.setdefault(id(event.document), (event.document, []))[1].append(event)
    for doc, evs in docs.values():
        serializer = Serializer(references=doc.models.synced_references, deferred=False)
        patch_json = PatchJson(events=serializer.encode(evs))
        doc.models.flush_synced(lambda model, s=serializer: not s.has_ref(model))
        msg = patch_doc(patch_doc.create_header(), {}, patch_json)
        msg.add_buffers(*serializer.buffers)
        yield msg


def _structural(event) -> bool:
    """True for a change whose new value holds Bokeh models (renderers, columns, a legend ...). BokehJS
    builds the views of such parts asynchronously; a later change in the same message can reach a part
    whose view does not exist yet ("cannot find a view"), so these go alone, in order."""
    from bokeh.document.events import ModelChangedEvent
    from bokeh.model import Model

    if type(event) is not ModelChangedEvent:
        return False
    new = event.new
    values = new.values() if isinstance(new, dict) else new if isinstance(new, (list, tuple)) else (new,)
    return any(isinstance(v, Model) for v in values)


def _combine(old, new) -> bool:
    """True when ``new`` is folded into the waiting ``old``: columns of the same data source (their values
    are read when the message is made, so a second event would send the same data again). Other events
    keep their order: a later value moved earlier could reach a model already taken off the plot."""
    from bokeh.document.events import ColumnDataChangedEvent

    if (type(old) is ColumnDataChangedEvent and type(new) is ColumnDataChangedEvent and old.model is new.model
            and old.attr == new.attr and old.setter is new.setter and old.data is None and new.data is None):
        old.cols = None if old.cols is None or new.cols is None else sorted(set(old.cols) | set(new.cols))
        return True
    return False


def plain_names(text: str, names: dict | None) -> str:
    """``text`` with each argument name of ``names`` (``{name: label}``; also as ``name=...``)
    replaced by the quoted label of its control, and "pass" (as in "pass name=...") by "choose".

    Examples
    --------
    >>> plain_names("pass a shorter baseline_window or baseline='constant'",
    ...             {"baseline_window": "Baseline window / s", "baseline": "Baseline"})
    "choose a shorter 'Baseline window / s' or 'Baseline' = 'constant'"
    """
    if not names:
        return text
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
                         + r")\b(\s*=\s*)?")
    text = pattern.sub(lambda m: f"'{names[m.group(1)]}'" + (" = " if m.group(2) else ""), text)
    return re.sub(r"\b([Pp])ass\b", lambda m: "Choose" if m.group(1) == "P" else "choose", text)


class ErrorDisplay(W.HTML):
    """A status line that shows information, warnings and errors to the user.

    Examples
    --------
    >>> status = ErrorDisplay()
    >>> @status.guard
    ... def on_click(_):
    ...     raise ValueError("bad")
    >>> on_click(None)
    >>> "bad" in status.value
    True
    """

    _STYLE = {
        "info": "color:#1b5e20",
        "warning": "color:#8a5300",
        "error": "color:#b00020;font-weight:600",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_class("nbtools-status")
        self.last_error: BaseException | None = None
        #: ``{argument name: label of its control}`` used by :meth:`error` (a dashboard's own words)
        self.names: dict = {}

    def _set(self, level: str, text: str) -> None:
        from ..safety import redact  # a workshop server: file names, not the server's folders

        text = redact(text)
        self.value = f'<span class="nbtools-{level}" style="{self._STYLE[level]}">{html.escape(text)}</span>'

    def info(self, text: str) -> None:
        """Show a neutral or success message."""
        self._set("info", text)

    def warning(self, text: str) -> None:
        """Show a warning the user should read."""
        self._set("warning", "Warning: " + text)

    def error(self, exc: BaseException, *, names: dict | None = None) -> None:
        """Show an exception: the message of an nbtools error (with the setting names in ``names``,
        ``{argument name: label of its control}``, replaced by the labels people see on the page);
        for anything else a plain sentence, the Python details folded away."""
        self.last_error = exc
        if isinstance(exc, NbtoolsError):
            self._set("error", "Error: " + plain_names(str(exc), self.names if names is None else names))
            return
        where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        loc = f" (in {where[0].name}, {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno})" if where else ""
        from ..safety import redact

        details = redact(f"Unexpected error {type(exc).__name__}: {exc}{loc}.")
        self.value = (f'<span class="nbtools-error" style="{self._STYLE["error"]}">Error: something unexpected '
                      "went wrong and this step was not done. Please report it, with the file and the settings "
                      f"you used.</span><details style='color:#555'><summary>Technical details</summary>"
                      f"{html.escape(details)}</details>")

    def clear(self) -> None:
        """Remove the message."""
        self.value = ""

    def guard(self, func):
        """Decorate a callback so that its exceptions are shown here, not lost."""

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with hold_patches():  # the plots' changes go to the browser together, at the end
                try:
                    return func(*args, **kwargs)
                except Exception as exc:  # shown to the user; nothing else would see it
                    self.error(exc)
                    return None

        return wrapper
