"""TraceLoader: choose a bundled example, type a path or upload a file.

The widget only gathers a path; reading is one call to
:func:`nbtools.io.load_trace`. The loaded :class:`~nbtools.Trace` is in the
``trace`` trait: ``loader.observe(handler, names="trace")``.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path

import ipywidgets as W
import traitlets

from ..plotting import si_text
from .display import ErrorDisplay

__all__ = ["TraceLoader", "EXAMPLE_SUFFIXES", "as_trace", "explain_load_error", "plain_reader_text", "describe_file"]

EXAMPLE_SUFFIXES = {".csv", ".tsv", ".txt", ".npz", ".npy", ".abf", ".dta", ".mpt", ".mpr",
                    ".tdms", ".h5", ".hdf5"}


# names that are a time base or a scalar next to the data, not a channel to show
_NOT_CHANNELS = {"t", "time", "elapsed time", "time_s", "dt", "fs", "t0", "current_unit", "time_unit"}


def _is_time_or_scalar(label) -> bool:
    """True for a column that is a time base or a scalar next to the data, not a channel to show."""
    from ..units import kind_of, split_label

    name, unit = split_label(label)
    if str(name).strip().lower() in _NOT_CHANNELS:
        return True
    try:
        return kind_of(unit or "") == "time"
    except Exception:  # an unusual label: offer it as it is
        return False


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


#: what a file that is not a recording looks like, by its first bytes
_SIGNATURES = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"%PDF", "a PDF document"),
               (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or Word file?)"), (b"GIF8", "a GIF image"))
_READABLE = ("Choose a current recording: an instrument file (Axon .abf, CH Instruments or Gamry text export, "
             "BioLogic .mpt or .mpr, TDMS, HDF5, NumPy) or a text table with time and current columns.")
UNITS = ["A", "mA", "µA", "nA", "pA", "fA"]


def describe_file(path) -> str:
    """' (it looks like a PNG image)' for a known non-recording signature, ' (a binary file)' ... or ''."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return ""
    for sig, what in _SIGNATURES:
        if head.startswith(sig):
            return f" (it looks like {what})"
    return " (it is a binary file of a kind nbtools does not know)" if b"\x00" in head else ""


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


def explain_load_error(exc, path, name: str) -> tuple[str, dict]:
    """What a reader's error means for someone on the page, and what to offer them: ``(message,
    offer)`` with ``offer`` ``{'channels': [...]}`` (choose the current column), ``{'unit': column}``
    (choose the unit of its values) or ``{}``. Messages name controls of the page, not the reader's
    arguments."""
    text = str(exc)
    m = re.search(r"no current column found among (.*?); expected", text)
    if m:
        cols = _quoted(m.group(1))
        return (f"{name} has the columns {', '.join(cols)}, but none is labelled as a current (such as "
                "'Current / pA'). Choose the current column in the Channel list below.", {"channels": cols})
    m = re.search(r"no current unit found in .*?, column '([^']*)'", text)
    if m:
        return (f"The column '{m.group(1)}' of {name} does not say in which unit its currents are. Choose the "
                "unit of its values in the Unit list below.", {"unit": m.group(1)})
    if "no numeric rows" in text or "no numeric" in text:
        return (f"{name} has no columns of numbers in its first lines: it does not look like a recording. "
                + _READABLE, {})
    if "no time column and no sampling rate" in text:
        return (f"{name} has no time column and does not say its sampling rate. Type the sampling rate in "
                "the Rate box below.", {"fs": True})
    what = describe_file(path)
    if what or "not recognised" in text or "could not be read" in text or "codec" in text:
        return f"{name} is not a recording nbtools can read{what}. " + _READABLE, {}
    return plain_reader_text(text), {}


def plain_reader_text(text: str) -> str:
    """A reader's message without the hints that name its arguments ("pass fs=<Hz> to load_trace",
    "(pass time_unit=)", "Pass format='<name>' ..."): on a page they are no help."""
    text = re.sub(r"\s*\((?:or )?pass [^)]*\)", "", text, flags=re.I)
    text = re.sub(r"[;,]\s*pass \w+=[^.;]*", "", text, flags=re.I)
    text = re.sub(r"\s*Pass [^.]*=[^.]*\.", "", text)
    return text


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
        from .. import safety

        self.path = W.Text(placeholder=("recording.abf: a file in the workshop's data folder" if safety.confined()
                                        else "/full/path/to/recording.abf (or .txt, .csv, .DTA, .mpt, .tdms ...)"),
                           description=text["path"], layout=W.Layout(width="560px"))
        self.open_button = W.Button(description=text["open"], icon="folder-open", button_style="primary",
                                    tooltip="Read the file typed on the left")
        self.upload = W.FileUpload(multiple=False, description=text["upload"])
        self.none_label = none_label
        self.channel = W.Dropdown(description="Channel:", layout=W.Layout(width="420px", display="none"),
                                  tooltip="The file has several channels: choose the current")
        self.unit = W.Dropdown(options=[("choose…", "")] + [(u, u) for u in UNITS], description="Unit:",
                               layout=W.Layout(width="260px", display="none"),
                               tooltip="The unit of the current values in the file")
        self.rate = W.FloatText(value=0.0, description="Rate / Hz:", layout=W.Layout(width="220px", display="none"),
                                tooltip="The sampling rate of a file without a time column")
        self.example.observe(self.status.guard(self._on_example), names="value")
        self.open_button.on_click(self.status.guard(self._on_open))
        self.upload.observe(self.status.guard(self._on_upload), names="value")
        self.channel.observe(self.status.guard(self._on_channel), names="value")
        self.unit.observe(self.status.guard(self._on_unit), names="value")
        self.rate.observe(self.status.guard(self._on_rate), names="value")
        children = [
            self.example,
            W.HBox([self.path, self.open_button]),
            W.HBox([self.channel, self.unit, self.rate]),
            W.HBox([self.upload, W.HTML('<span style="color:#555">for small files ('
                                        + (f"up to {safety.upload_limit_text(safety.max_upload_bytes())}"
                                           if safety.max_upload_bytes() else "a few MB")
                                        + '); a copy goes to a temporary folder. Big recordings: type the path '
                                        'above.</span>')]),
        ]
        if status is None:
            children.append(self.status)
        super().__init__(children, **kwargs)
        self._tmpdir = None
        self._last = None  # (path, label) of the file shown, to re-read another channel
        self._channel = None
        self._pending = None  # (path, label, options) of a file waiting for a channel or unit choice

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
        notes = [plain_reader_text(str(w.message)) for w in caught]
        notes += [plain_reader_text(str(w)) for w in (trace.meta or {}).get("warnings", [])]
        notes = list(dict.fromkeys(notes))
        self._last = (path, label)
        self._show_channels(trace)
        self.trace = trace
        if notes:
            self.status.warning(msg + " " + " ".join(notes))
        else:
            self.status.info(msg)
        return trace

    def _read(self, path, *, label: str | None = None, **options):
        """:meth:`load` for the page's controls: a file that cannot be read as it is gets a message
        saying what to do here (and the Channel or Unit list to do it with)."""
        from ..errors import NbtoolsError

        name = label or Path(str(path)).name
        self.unit.layout.display = self.rate.layout.display = "none"
        try:
            trace = self.load(path, label=label, **options)
        except (NbtoolsError, OSError, ValueError) as exc:
            msg, offer = explain_load_error(exc, path, name)
            self._pending = (path, label, dict(options))
            if "channels" in offer:
                self._offer_channels(offer["channels"])
            elif "unit" in offer:
                self.unit.value = ""
                self.unit.layout.display = None
            elif "fs" in offer:
                self.rate.value = 0.0
                self.rate.layout.display = None
            from ..errors import FormatError

            if self.trace is not None:
                shown = getattr(self.trace, "source", None)
                msg += f" (The page still shows {Path(str(shown)).name if shown else 'the recording before'}.)"
            raise FormatError(msg) from exc
        self._pending = None
        return trace

    def _offer_channels(self, channels):
        channels = [c for c in channels if not _is_time_or_scalar(c)] or list(channels)
        self._channel = None
        self.channel.index = None
        self.channel.options = [("choose…", "")] + [(c, c) for c in channels]
        self.channel.value = ""
        self.channel.layout.display = None

    def _on_unit(self, change):
        if not change["new"] or self._pending is None:
            return
        path, label, options = self._pending
        self._read(path, label=label, **{**options, "current_unit": change["new"].replace("µ", "u")})

    def _on_rate(self, change):
        if not change["new"] or change["new"] <= 0 or self._pending is None:
            return
        path, label, options = self._pending
        self._read(path, label=label, **{**options, "fs": float(change["new"])})

    def _show_channels(self, trace):
        """Offer the file's channels (those that are not a time column) when there are several."""
        meta = trace.meta or {}
        channels = [str(c) for c in meta.get("channels") or []]
        channels = [c for c in channels if not _is_time_or_scalar(c)]
        self._channel = str(meta.get("channel"))  # the channel shown: choosing it again reads nothing
        if len(channels) > 1 and self._channel in channels:
            self.channel.index = None  # no selection while the options change (nothing to read)
            self.channel.options = channels
            self.channel.value = self._channel
            self.channel.layout.display = None
        else:
            self.channel.layout.display = "none"

    def _on_channel(self, change):
        if not change["new"] or change["new"] == self._channel:
            return
        if self._pending is not None:  # a file whose current column was not recognised
            path, label, options = self._pending
            self._read(path, label=label, **{**options, "channel": change["new"]})
            return
        if self._last is None:
            return
        path, label = self._last
        self._read(path, label=label, channel=change["new"])

    def load_example(self):
        """Open the example selected in the dropdown (if any)."""
        if self.example.value:
            return self._read(self.example.value)
        return None

    def _on_example(self, change):
        if change["new"]:
            self._read(change["new"])
        elif self.none_label:
            self.trace = None
            self.status.info(f"{self.none_label[0].upper()}{self.none_label[1:]}.")

    def _on_open(self, _):
        text = self.path.value.strip().strip('"').strip("'")
        if not text:
            self.status.warning("Type the full path of a recording in 'Your file', then press Open file.")
            return
        from .. import safety

        path = safety.user_path(text)
        if not path.exists():
            from ..errors import MissingFileError

            if safety.confined():
                raise MissingFileError(f"{Path(text).name}: no such file in the data folder. Type its name as "
                                       "the instructor gave it, e.g. run1.abf or day2/run1.abf")
            raise MissingFileError(f"{text}: no such file. Type the full path, e.g. /home/me/data/run1.abf")
        self._read(path)

    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        item = files[0]
        name = Path(item["name"]).name
        from ..safety import check_upload

        check_upload(name, len(item["content"]))
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="nbtools_upload_")
        target = Path(self._tmpdir.name) / name
        target.write_bytes(bytes(item["content"]))
        self._read(target, label=f"{name} (uploaded)")
