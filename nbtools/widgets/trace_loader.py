"""TraceLoader: choose a bundled example, type a path or upload a file.

The widget only gathers a path; reading is one call to
:func:`nbtools.io.load_trace`. The loaded :class:`~nbtools.Trace` is in the
``trace`` trait: ``loader.observe(handler, names="trace")``.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import ipywidgets as W
import traitlets

from ..plotting import _si
from .display import ErrorDisplay

__all__ = ["TraceLoader", "EXAMPLE_SUFFIXES"]

EXAMPLE_SUFFIXES = {".csv", ".tsv", ".txt", ".npz", ".npy", ".abf", ".dta", ".mpt", ".mpr",
                    ".tdms", ".h5", ".hdf5"}


def _examples(data_dir, pattern: str) -> list[Path]:
    if data_dir is None or not Path(data_dir).is_dir():
        return []
    return sorted(
        p for p in Path(data_dir).glob(pattern)
        if p.suffix.lower() in EXAMPLE_SUFFIXES and "events" not in p.stem and not p.name.startswith(".")
    )


class TraceLoader(W.VBox):
    """Open a recording: bundled example, typed path, or uploaded file.

    Parameters
    ----------
    data_dir : str or pathlib.Path, optional
        Folder of example recordings (the project's ``data/``).
    pattern : str, optional
        Glob selecting the examples in ``data_dir``.
    status : ErrorDisplay, optional
        Where messages go (a new one, shown below the controls, by default).
    load_options : dict, optional
        Keyword options passed to the reader.
    reader : callable, optional
        ``reader(path, **load_options) -> Trace``; default :func:`nbtools.io.load_trace`.

    Attributes
    ----------
    trace : Trace or None
        The last recording opened (observe it with ``names="trace"``).
    """

    trace = traitlets.Any(None, allow_none=True)

    def __init__(self, data_dir=None, *, pattern: str = "*", status: ErrorDisplay | None = None,
                 load_options: dict | None = None, reader=None, **kwargs):
        self.load_options = dict(load_options or {})
        self.reader = reader
        self.status = status if status is not None else ErrorDisplay()
        examples = _examples(data_dir, pattern)
        self.example = W.Dropdown(
            options=[(p.name, str(p)) for p in examples] or [("(no bundled examples)", "")],
            description="Example:", layout=W.Layout(width="420px"),
        )
        self.path = W.Text(placeholder="/full/path/to/recording.abf (or .txt, .csv, .DTA, .mpt, .tdms ...)",
                           description="Your file:", layout=W.Layout(width="560px"))
        self.open_button = W.Button(description="Open file", icon="folder-open", button_style="primary",
                                    tooltip="Read the file typed on the left")
        self.upload = W.FileUpload(multiple=False, description="Upload a file")
        self.example.observe(self.status.guard(self._on_example), names="value")
        self.open_button.on_click(self.status.guard(self._on_open))
        self.upload.observe(self.status.guard(self._on_upload), names="value")
        children = [
            self.example,
            W.HBox([self.path, self.open_button]),
            W.HBox([self.upload, W.HTML('<span style="color:#555">an uploaded file is copied to a '
                                        'temporary folder; nothing is written next to your data</span>')]),
        ]
        if status is None:
            children.append(self.status)
        super().__init__(children, **kwargs)
        self._tmpdir = None

    # --- actions --------------------------------------------------------------
    def load(self, path, *, label: str | None = None):
        """Read ``path`` with the reader, set ``trace``, report to the status line."""
        reader = self.reader
        if reader is None:
            from ..io import load_trace as reader

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trace = reader(path, **self.load_options)
        name = label or Path(str(path)).name
        msg = f"Opened {name}: {len(trace):,} samples at {_si(trace.fs, 'Hz')} ({_si(trace.duration, 's')})."
        notes = [str(w.message) for w in caught]
        self.trace = trace
        if notes:
            self.status.warning(msg + " " + " ".join(notes))
        else:
            self.status.info(msg)
        return trace

    def load_example(self):
        """Open the example selected in the dropdown (if any)."""
        if self.example.value:
            return self.load(self.example.value)
        return None

    def _on_example(self, change):
        if change["new"]:
            self.load(change["new"])

    def _on_open(self, _):
        text = self.path.value.strip().strip('"').strip("'")
        if not text:
            self.status.warning("Type the full path of a recording in 'Your file', then press Open file.")
            return
        path = Path(text).expanduser()
        if not path.exists():
            from ..errors import FormatError

            raise FormatError(f"{text}: no such file. Type the full path, e.g. /home/me/data/run1.abf")
        self.load(path)

    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        item = files[0]
        name = Path(item["name"]).name
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="nbtools_upload_")
        target = Path(self._tmpdir.name) / name
        target.write_bytes(bytes(item["content"]))
        self.load(target, label=f"{name} (uploaded)")
