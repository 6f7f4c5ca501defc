"""Where a dashboard may read and write files when it serves a workshop.

``nbtools serve --workshop`` (or ``--data-dir``) sets environment variables
that its kernels inherit; the dashboards' path boxes ask this module what a
typed path means:

- ``NBTOOLS_DATA_DIR``: the data folder. When set, :func:`user_path`
  resolves a typed path *inside* it (relative to it; ``..``, absolute paths
  elsewhere and symlinks pointing out are refused with a
  :class:`~nbtools.errors.PathRefusedError` naming the file, never the
  server's folders), and :func:`export_dir` gives a per-session folder under
  it. Unset (single-user ``nbtools serve``, JupyterLab, scripts): paths mean
  what they always meant (``~`` expanded, any folder).
- ``NBTOOLS_MAX_UPLOAD_MB``: the upload size limit of the server, checked by
  :func:`check_upload` and shown by the upload buttons.

Messages shown on a shared server pass through :func:`redact`, which keeps
file names and drops the folders above them.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from .errors import PathRefusedError

__all__ = [
    "DATA_DIR_ENV",
    "MAX_UPLOAD_ENV",
    "data_dir",
    "confined",
    "resolve_inside",
    "user_path",
    "export_dir",
    "keep_inside",
    "shown_name",
    "redact",
    "max_upload_bytes",
    "upload_limit_text",
    "upload_message",
    "check_upload",
    "session_id",
]

DATA_DIR_ENV = "NBTOOLS_DATA_DIR"
MAX_UPLOAD_ENV = "NBTOOLS_MAX_UPLOAD_MB"
SESSIONS = "exports"  # per-session export folders live in <data dir>/exports/<session>

_session_id: str | None = None


def data_dir() -> Path | None:
    """The data folder of a workshop server (env ``NBTOOLS_DATA_DIR``), or None (no confinement)."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).resolve() if value else None


def confined() -> bool:
    """True when paths typed in the dashboards are confined to a data folder."""
    return data_dir() is not None


def resolve_inside(text, root) -> Path:
    """The file a user typed, resolved inside ``root``; refuses anything that leads outside.

    Parameters
    ----------
    text : str or os.PathLike
        What the user typed: relative to ``root`` (``run1.abf``,
        ``day2/run1.abf``), or an absolute path that lies inside ``root``.
    root : str or os.PathLike
        The data folder.

    Returns
    -------
    pathlib.Path
        The resolved path (symlinks followed), inside ``root``. It need not exist.

    Raises
    ------
    PathRefusedError
        For an empty text, ``~``, a ``..`` component, an absolute path outside
        ``root``, or a symlink (anywhere along the path) that points out of
        ``root``. The message names what was typed (its file name), not the
        server's folders.
    """
    root = Path(root).resolve()
    raw = os.fspath(text).strip().strip('"').strip("'")
    name = Path(raw).name or raw
    if not raw:
        raise PathRefusedError("no file name given: type the name of a file in the data folder, e.g. run1.abf")
    if "\x00" in raw:
        raise PathRefusedError(f"{name!r}: not a valid file name")
    if raw.startswith("~"):
        raise PathRefusedError(f"{raw!r}: home folders are not available on this server; "
                               "type the name of a file in the data folder, e.g. run1.abf")
    parts = Path(raw).parts
    if ".." in parts:
        raise PathRefusedError(f"{raw!r}: '..' is not allowed; type the name of a file in the data folder "
                               "(e.g. run1.abf or day2/run1.abf)")
    candidate = Path(raw) if Path(raw).is_absolute() else root / raw
    if not _is_within(candidate.absolute(), root):
        raise PathRefusedError(f"{name!r}: only files in the workshop's data folder can be opened on this server; "
                               "type the file's name as the data folder lists it (e.g. run1.abf), or upload it")
    resolved = candidate.resolve()  # follows symlinks, also in the folders on the way
    if not _is_within(resolved, root):
        raise PathRefusedError(f"{name!r} points outside the workshop's data folder (a link); it cannot be opened "
                               "on this server")
    return resolved


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def user_path(text) -> Path:
    """The path a user typed in a dashboard's path box.

    Inside the data folder (see :func:`resolve_inside`) when the server
    confines files (``NBTOOLS_DATA_DIR`` set); otherwise the path as typed,
    with ``~`` expanded (single-user use: any file the user can read).
    """
    root = data_dir()
    if root is None:
        return Path(os.fspath(text).strip().strip('"').strip("'")).expanduser()
    return resolve_inside(text, root)


def keep_inside(paths) -> list:
    """``paths`` (e.g. a glob's matches) without those leading outside the data folder (links); all
    of them when not confined."""
    root = data_dir()
    if root is None:
        return list(paths)
    return [p for p in paths if _is_within(Path(p).resolve(), root)]


def session_id() -> str:
    """A random name for this kernel's session (one page), made once per process."""
    global _session_id
    if _session_id is None:
        _session_id = "session-" + secrets.token_hex(4)
    return _session_id


def export_dir(text=None) -> Path:
    """The folder an export is written to.

    Confined (workshop): ``<data dir>/exports/<session>/[text]``, created, with
    ``text`` (an optional sub-folder name typed by the user) resolved inside the
    session folder; an absolute path or ``~`` means the session folder itself.
    Not confined: ``text`` unchanged (the exporter checks and creates it as before).
    """
    root = data_dir()
    if root is None:
        return text
    session = root / SESSIONS / session_id()
    session.mkdir(parents=True, exist_ok=True)
    sub = str(text or "").strip()
    if not sub or Path(sub).is_absolute() or sub.startswith("~"):
        return session
    folder = resolve_inside(sub, session)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shown_name(path) -> str:
    """How a path is shown in a message: relative to the data folder when confined, else in full."""
    p = Path(os.fspath(path))
    root = data_dir()
    if root is None:
        return str(p)
    try:
        return p.resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return p.name


_ABS = re.compile(r"(?<![\w.:/])(/(?:[^\s/'\"<>:,;()\[\]]+/)+)([^\s/'\"<>:,;()\[\]]*)")
_LISTING = re.compile(r"(?:found e\.g\. |found |files: )?\[(?:'[^'\]]*'(?:, )?){2,}\]")


def redact(text: str) -> str:
    """A message with server folders removed, for a confined (workshop) server; unchanged otherwise.

    Absolute paths keep only their part inside the data folder (or their file
    name), and lists of file names (folder listings) are dropped.

    Examples
    --------
    >>> import os; os.environ["NBTOOLS_DATA_DIR"] = "/srv/data"
    >>> redact("/etc/passwd: not a recording")
    'passwd: not a recording'
    >>> redact("/srv/data/day2/run1.abf: too short")
    'day2/run1.abf: too short'
    >>> del os.environ["NBTOOLS_DATA_DIR"]
    """
    root = data_dir()
    if root is None:
        return text
    prefix = str(root).rstrip("/") + "/"
    text = text.replace(prefix, "")
    text = _LISTING.sub("(file list not shown)", text)
    return _ABS.sub(lambda m: m.group(2) or "(folder)", text)


def max_upload_bytes() -> int | None:
    """The server's upload limit in bytes (env ``NBTOOLS_MAX_UPLOAD_MB``), or None when none is set."""
    value = os.environ.get(MAX_UPLOAD_ENV, "").strip()
    try:
        mb = float(value)
    except ValueError:
        return None
    return int(mb * 2**20) if mb > 0 else None


def upload_limit_text(limit: int) -> str:
    """``'50 MB'`` for a limit in bytes."""
    return f"{round(limit / 2**20, 3):g} MB"


def check_upload(name: str, size: int) -> None:
    """Refuse an upload larger than the server's limit, with a message saying what to do.

    Raises
    ------
    PathRefusedError
        When ``size`` (bytes) exceeds :func:`max_upload_bytes`.
    """
    limit = max_upload_bytes()
    if limit is not None and size > limit:
        raise PathRefusedError(upload_message(Path(name).name, size, limit))


def upload_message(name: str, size: int, limit: int) -> str:
    """The message for an upload over the limit (the same words as the page's upload check)."""
    shown = f"{size / 2**20:.1f} MB" if size >= 0.1 * 2**20 else f"{size / 1024:.0f} kB"
    return (f"{name} is {shown}; this server accepts uploads up to {upload_limit_text(limit)}. "
            "Ask whoever runs the server to put the file in the data folder (then type its name), "
            "or crop the recording.")
