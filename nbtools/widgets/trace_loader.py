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

from ..plotting import si_text
from .display import ErrorDisplay

__all__ = ["TraceLoader", "EXAMPLE_SUFFIXES", "as_trace"]

EXAMPLE_SUFFIXES = {".csv", ".tsv", ".txt", ".npz", ".npy", ".abf", ".dta", ".mpt", ".mpr",
                    ".tdms", ".h5", ".hdf5"}


# names that are a time base or a scalar next to the data, not a channel to show
_NOT_CHANNELS = {"t", "time", "elapsed time", "time_s", "dt", "fs", "t0", "current_unit", "time_unit"}


def as_trace(obj, what: str = "trace"):
    """``obj`` as a :class:`~nbtools.Trace`: a Trace (or None) as it is, a path read with
    :func:`nbtools.io.load_trace`; anything else is a ParameterError naming ``what``."""
    from ..trace import Trace

    if obj is None or isinstance(obj, Trace):
        return obj
    if isinstance(obj, (str, Path)):
        from ..io import load_trace

        return load_trace(obj)
    from ..errors import ParameterError

    raise ParameterError(f"{what} must be an nbtools.Trace or the path of a recording, found {type(obj).__name__}")


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
    none_label : str, optional
        A first choice of the examples that means no recording (``trace`` None),
        e.g. ``"no blank"`` for an optional blank.
    labels : dict, optional
        Texts of the controls: ``example``, ``path``, ``open``, ``upload``
        (default "Example:", "Your file:", "Open file", "Upload a file").

    Attributes
    ----------
    trace : Trace or None
        The last recording opened (observe it with ``names="trace"``).
    """

    trace = traitlets.Any(None, allow_none=True)

    def __init__(self, data_dir=None, *, pattern: str = "*", status: ErrorDisplay | None = None,
                 load_options: dict | None = None, reader=None, none_label: str | None = None,
                 labels: dict | None = None, **kwargs):
        self.load_options = dict(load_options or {})
        self.reader = reader
        self.status = status if status is not None else ErrorDisplay()
        text = {"example": "Example:", "path": "Your file:", "open": "Open file", "upload": "Upload a file",
                **(labels or {})}
        examples = [(p.name + " (bundled example)" if none_label else p.name, str(p))
                    for p in _examples(data_dir, pattern)]
        if none_label:
            examples.insert(0, (none_label, ""))
        self.example = W.Dropdown(options=examples or [("(no bundled examples)", "")], description=text["example"],
                                  layout=W.Layout(width="420px"))
        self.path = W.Text(placeholder="/full/path/to/recording.abf (or .txt, .csv, .DTA, .mpt, .tdms ...)",
                           description=text["path"], layout=W.Layout(width="560px"))
        self.open_button = W.Button(description=text["open"], icon="folder-open", button_style="primary",
                                    tooltip="Read the file typed on the left")
        self.upload = W.FileUpload(multiple=False, description=text["upload"])
        self.none_label = none_label
        self.channel = W.Dropdown(description="Channel:", layout=W.Layout(width="420px", display="none"),
                                  tooltip="The file has several channels: choose the current")
        self.example.observe(self.status.guard(self._on_example), names="value")
        self.open_button.on_click(self.status.guard(self._on_open))
        self.upload.observe(self.status.guard(self._on_upload), names="value")
        self.channel.observe(self.status.guard(self._on_channel), names="value")
        children = [
            self.example,
            W.HBox([self.path, self.open_button]),
            self.channel,
            W.HBox([self.upload, W.HTML('<span style="color:#555">for small files (a few MB); a copy goes to a '
                                        'temporary folder. Big recordings: type the path above.</span>')]),
        ]
        if status is None:
            children.append(self.status)
        super().__init__(children, **kwargs)
        self._tmpdir = None
        self._last = None  # (path, label) of the file shown, to re-read another channel
        self._channel = None

    # --- actions --------------------------------------------------------------
    def load(self, path, *, label: str | None = None, **options):
        """Read ``path`` with the reader, set ``trace``, report to the status line.

        ``options`` are added to ``load_options`` for this call (e.g. ``channel=1``).
        """
        reader = self.reader
        if reader is None:
            from ..io import load_trace as reader

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trace = reader(path, **{**self.load_options, **options})
        name = label or Path(str(path)).name
        msg = f"Opened {name}: {len(trace):,} samples at {si_text(trace.fs, 'Hz')} ({si_text(trace.duration, 's')})."
        notes = [str(w.message) for w in caught]
        notes += [str(w) for w in (trace.meta or {}).get("warnings", []) if str(w) not in notes]
        self._last = (path, label)
        self._show_channels(trace)
        self.trace = trace
        if notes:
            self.status.warning(msg + " " + " ".join(notes))
        else:
            self.status.info(msg)
        return trace

    def _show_channels(self, trace):
        """Offer the file's channels (those that are not a time column) when there are several."""
        from ..units import kind_of, split_label

        meta = trace.meta or {}
        channels = [str(c) for c in meta.get("channels") or []]
        def is_time_or_scalar(label):
            name, unit = split_label(label)
            if str(name).strip().lower() in _NOT_CHANNELS:
                return True
            try:
                return kind_of(unit or "") == "time"
            except Exception:  # an unusual label: offer it as it is
                return False

        channels = [c for c in channels if not is_time_or_scalar(c)]
        self._channel = str(meta.get("channel"))  # the channel shown: choosing it again reads nothing
        if len(channels) > 1 and self._channel in channels:
            self.channel.index = None  # no selection while the options change (nothing to read)
            self.channel.options = channels
            self.channel.value = self._channel
            self.channel.layout.display = None
        else:
            self.channel.layout.display = "none"

    def _on_channel(self, change):
        if not change["new"] or self._last is None or change["new"] == self._channel:
            return
        path, label = self._last
        self.load(path, label=label, channel=change["new"])

    def load_example(self):
        """Open the example selected in the dropdown (if any)."""
        if self.example.value:
            return self.load(self.example.value)
        return None

    def _on_example(self, change):
        if change["new"]:
            self.load(change["new"])
        elif self.none_label:
            self.trace = None
            self.status.info(f"{self.none_label[0].upper()}{self.none_label[1:]}.")

    def _on_open(self, _):
        text = self.path.value.strip().strip('"').strip("'")
        if not text:
            self.status.warning("Type the full path of a recording in 'Your file', then press Open file.")
            return
        path = Path(text).expanduser()
        if not path.exists():
            from ..errors import MissingFileError

            raise MissingFileError(f"{text}: no such file. Type the full path, e.g. /home/me/data/run1.abf")
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
