"""Bokeh inside ipywidgets (offline), and errors shown to the user.

Two small parts every widget uses:

- :func:`bokeh_widget` turns a Bokeh layout into an ipywidget (jupyter_bokeh),
  loading BokehJS from inline resources first, so that plots render in
  JupyterLab and Voila without a network connection.
- :class:`ErrorDisplay` is a status line; its :meth:`~ErrorDisplay.guard`
  wraps callbacks so that an exception is shown in the dashboard instead of
  vanishing (Voila and JupyterLab hide callback tracebacks).
"""

from __future__ import annotations

import functools
import html
import os
import re
import traceback

import ipywidgets as W

from ..errors import NbtoolsError

__all__ = ["bokeh_widget", "load_bokehjs", "ErrorDisplay", "plain_names"]

_bokehjs_loaded = False


def load_bokehjs(force: bool = False) -> None:
    """Load BokehJS into the notebook page from inline resources (no CDN).

    Called by :func:`bokeh_widget`; call it yourself at the top of a notebook
    when the first Bokeh widget is created later, in a callback. Under
    ``nbtools serve`` (environment ``NBTOOLS_BOKEHJS=page``) the page itself
    loads BokehJS once from the server, and nothing is inlined.
    """
    global _bokehjs_loaded
    if _bokehjs_loaded and not force:
        return
    if os.environ.get("NBTOOLS_BOKEHJS") == "page":  # nbtools serve: the page loads it once, cached
        _bokehjs_loaded = True
        return
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(INLINE, hide_banner=True)
    _bokehjs_loaded = True


def bokeh_widget(layout):
    """Return an ipywidget showing a Bokeh layout (a ``jupyter_bokeh.BokehModel``).

    Parameters
    ----------
    layout : bokeh.model.Model
        A figure or layout. One layout per widget: Bokeh models (sources,
        ranges) must not be shared between two widgets.
    """
    from jupyter_bokeh.widgets import BokehModel

    load_bokehjs()
    return BokehModel(layout)


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
            try:
                return func(*args, **kwargs)
            except Exception as exc:  # shown to the user; nothing else would see it
                self.error(exc)
                return None

        return wrapper
