"""The dashboards of a notebooks folder and their index-page metadata.

Every dashboard notebook carries notebook-level metadata under the key
``nbtools``::

    "nbtools": {
        "title": "Open a recording",
        "description": "one line for the index page",
        "order": 10,
        "browser_test": {"click": "<Playwright selector>", "expect": "<text after the click>"}
    }

:func:`list_dashboards` reads it for the index page of ``nbtools serve`` and
for the tests (which open each dashboard and perform ``browser_test``).
Notebooks without the key are listed after the others, titled by file name.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["list_dashboards", "default_notebooks_dir"]


def _read_meta(path: Path) -> dict:
    """The ``nbtools`` metadata of one notebook ({} when absent or unreadable)."""
    try:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
    except (OSError, ValueError):
        return {}
    meta = nb.get("metadata", {}).get("nbtools", {}) if isinstance(nb, dict) else {}
    return meta if isinstance(meta, dict) else {}


def list_dashboards(folder, subpath: str = "") -> list[dict]:
    """Dashboards (``*.ipynb``) directly inside ``folder/subpath``, in index order.

    Parameters
    ----------
    folder : str or pathlib.Path
        The served notebooks folder.
    subpath : str, optional
        Sub-folder relative to ``folder`` (as in the Voila tree URL, where it
        starts with ``/``: ``"/workshop"`` is ``folder/workshop``). A sub-folder
        outside ``folder`` (``..``, a link leading out) lists nothing.

    Returns
    -------
    list of dict
        One dict per notebook with ``path`` (relative to ``folder``, with
        ``/``), ``name``, ``title``, ``description``, ``order`` and
        ``browser_test`` (None when absent), sorted by ``order`` then ``name``.
        Hidden files and checkpoints are skipped.
    """
    root = Path(folder)
    sub = str(subpath or "").replace("\\", "/").strip("/")
    here = root / sub if sub else root
    try:
        inside = here.resolve().is_relative_to(root.resolve())
    except OSError:
        inside = False
    if not inside or not here.is_dir():
        return []
    out = []
    for nb in sorted(here.glob("*.ipynb")):
        if nb.name.startswith((".", "_")):
            continue
        meta = _read_meta(nb)
        try:
            order = float(meta.get("order", 1e9))
        except (TypeError, ValueError):
            order = 1e9
        out.append(
            dict(
                path=nb.relative_to(root).as_posix(),
                name=nb.name,
                title=str(meta.get("title") or nb.stem.replace("_", " ").capitalize()),
                description=str(meta.get("description") or ""),
                order=order,
                browser_test=meta.get("browser_test"),
            )
        )
    out.sort(key=lambda d: (d["order"], d["name"]))
    return out


def default_notebooks_dir() -> Path | None:
    """The ``notebooks/`` folder of the checkout nbtools runs from, else of the working directory."""
    for cand in (Path(__file__).resolve().parents[1] / "notebooks", Path.cwd() / "notebooks"):
        if cand.is_dir():
            return cand
    return None
