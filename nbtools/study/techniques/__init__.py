"""What one task of a study does, per technique.

Each module has ``ENTITY`` (the name of its population table: one row per
event, particle ...), ``ENTITY_UNITS`` and ``analyse(unit, recipe, settings)``
returning a :class:`Outcome`: the row of the files table, the tables to
write, and which of them is the entity table. The analysis is the single-file
API of the technique, called as a user would call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

__all__ = ["Outcome", "technique_module", "reader_options"]


@dataclass
class Outcome:
    """What a task found: the files-table row, the tables (name -> (DataFrame, units)) and the recipe
    of the result (the one that reproduces it with the single-file API)."""

    row: dict
    tables: dict = field(default_factory=dict)
    recipe: object = None


def technique_module(technique: str):
    """The module that analyses one unit of ``technique`` ('impact', 'seccm', 'stick')."""
    return import_module(f"{__name__}.{technique}")


def reader_options(path, options: dict | None, kind: str) -> dict:
    """The reader options of a study that the reader of ``path`` accepts (``fs=`` goes to .npy files,
    not to ABF files, which carry their own rate). ``format`` always goes through."""
    if not options:
        return {}
    from ...io import FORMATS, sniff_format

    fmt = options.get("format") or sniff_format(path, kind=kind)
    accepted = set(FORMATS[fmt].options) | {"format"}
    return {k: v for k, v in options.items() if k in accepted}
