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
import traceback

import ipywidgets as W

from ..errors import NbtoolsError

__all__ = ["bokeh_widget", "load_bokehjs", "ErrorDisplay"]

_bokehjs_loaded = False


def load_bokehjs(force: bool = False) -> None:
    """Load BokehJS into the notebook page from inline resources (no CDN).

    Called by :func:`bokeh_widget`; call it yourself at the top of a notebook
    when the first Bokeh widget is created later, in a callback.
    """
    global _bokehjs_loaded
    if _bokehjs_loaded and not force:
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

    def _set(self, level: str, text: str) -> None:
        self.value = f'<span class="nbtools-{level}" style="{self._STYLE[level]}">{html.escape(text)}</span>'

    def info(self, text: str) -> None:
        """Show a neutral or success message."""
        self._set("info", text)

    def warning(self, text: str) -> None:
        """Show a warning the user should read."""
        self._set("warning", "Warning: " + text)

    def error(self, exc: BaseException) -> None:
        """Show an exception: its message for nbtools errors, type and message otherwise."""
        self.last_error = exc
        if isinstance(exc, NbtoolsError):
            text = f"Error: {exc}"
        else:
            where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
            loc = f" (in {where[0].name}, {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno})" if where else ""
            text = f"Unexpected error {type(exc).__name__}: {exc}{loc}. Please report it."
        self._set("error", text)

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
