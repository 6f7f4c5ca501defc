"""RecipeBar: *Save recipe* / *Load recipe* for any widget with a ``recipe`` attribute.

The recipe (:mod:`nbtools.recipes`) is what a batch run applies to many files,
so every dashboard offers the same two buttons: save the current settings as a
``.json`` file (written to the export folder without replacing anything, and
offered as a browser download), and load one back (an upload).
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import ipywidgets as W

from ..errors import ParameterError
from ..recipes import from_json
from .display import ErrorDisplay

__all__ = ["RecipeBar", "free_path"]

#: recipe files larger than this are refused on upload (a recipe is a few kB)
MAX_RECIPE_BYTES = 1_000_000


def free_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem+suffix``, or ``stem_2``, ``stem_3`` ...: the first that does not exist."""
    cand, k = folder / f"{stem}{suffix}", 1
    while cand.exists():
        k += 1
        cand = folder / f"{stem}_{k}{suffix}"
        if k > 10_000:
            raise ParameterError(f"too many files named {stem}_*{suffix} in {folder}; choose another folder")
    return cand


def download_link(text: str, filename: str, label: str) -> str:
    """An HTML link that downloads ``text`` as ``filename`` (data URI; no server file needed)."""
    uri = "data:application/json;base64," + base64.b64encode(text.encode()).decode("ascii")
    return (f'<a download="{html.escape(filename)}" href="{uri}" '
            f'style="text-decoration:underline">{html.escape(label)}</a>')


class RecipeBar(W.HBox):
    """Save and load the recipe of ``owner`` (any object with a read/write ``recipe``).

    Parameters
    ----------
    owner : object
        Has ``owner.recipe`` (get: the current :class:`~nbtools.recipes.Recipe`;
        set: apply a loaded one).
    folder : callable or path, optional
        Where *Save recipe* writes (a callable returning the folder, so the bar
        follows an export-folder box). None: download link only.
    stem : str
        File name stem of saved recipes (``nanoimpact_recipe.json`` ...).
    status : ErrorDisplay, optional
        Where messages go (the owner's status line); a new one otherwise.
    """

    def __init__(self, owner, *, folder=None, stem: str = "recipe", status: ErrorDisplay | None = None):
        self.owner = owner
        self.folder = folder
        self.stem = stem
        self.status = status if status is not None else ErrorDisplay()
        self.save_button = W.Button(description="Save recipe", icon="save",
                                    tooltip="Save these settings as a .json recipe (for nbtools batch or later)")
        self.upload = W.FileUpload(accept=".json", multiple=False, description="Load recipe",
                                   tooltip="Load settings from a recipe (.json) saved before")
        self.link = W.HTML()
        self.save_button.on_click(self.status.guard(lambda _: self.save()))
        self.upload.observe(self.status.guard(self._on_upload), names="value")
        children = [self.save_button, self.upload, self.link]
        if status is None:
            children.append(self.status)
        super().__init__(children, layout=W.Layout(align_items="center"))

    def _folder(self) -> Path | None:
        from ..safety import confined, export_dir

        f = self.folder() if callable(self.folder) else self.folder
        if confined():  # a workshop server: this page's own folder (and the download link)
            return Path(export_dir(f if f is not None and not Path(str(f)).is_absolute() else ""))
        if f is None or str(f).strip() == "":
            return None
        return Path(os.fspath(f)).expanduser()

    def save(self) -> Path | None:
        """Write the owner's recipe (never replacing a file); returns its path (None: download only)."""
        recipe = self.owner.recipe
        text = recipe.to_json()
        folder = self._folder()
        path = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            path = free_path(folder, self.stem, ".json")
            recipe.to_json(path)
        name = path.name if path else f"{self.stem}.json"
        self.link.value = download_link(text, name, f"download {name}")
        from ..safety import shown_name

        where = f" to {shown_name(path)}" if path else ""
        self.status.info(f"Saved the recipe{where}. Use it with: nbtools batch {name} <files> --out <folder>")
        return path

    def load(self, source) -> None:
        """Apply a recipe (JSON text, a path or a dict) to the owner."""
        recipe = from_json(source)
        self.owner.recipe = recipe
        changed = recipe.changed()
        what = ", ".join(f"{k} = {v}" for k, v in changed.items()) or "all defaults"
        self.status.info(f"Loaded the recipe ({recipe.kind}): {what}")

    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        f = files[0]
        size = int(f.get("size", len(f["content"])))
        if size > MAX_RECIPE_BYTES:
            raise ParameterError(f"{f['name']} is {size / 1e6:.1f} MB; a recipe is a small .json file "
                                 "saved by Save recipe")
        try:
            text = bytes(f["content"]).decode("utf-8")
        except UnicodeDecodeError:
            raise ParameterError(f"{f['name']} is not a text file; choose a recipe (.json) saved by "
                                 "Save recipe") from None
        try:
            self.load(text)
        finally:
            self.upload.value = ()
