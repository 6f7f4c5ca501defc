"""What a study analyses: inputs -> units of work, blanks paired with recordings, fingerprints.

A *unit* is what one Dask task analyses: one recording (nanoimpact), one scan
(SECCM: a file, or a folder of per-landing files), or one particle
(particle-on-a-stick: the curve files of one folder). Inputs are files,
folders (searched recursively for the formats of the recipe's kind, by
extension and then by content) or glob patterns.

Nanoimpact blanks: files whose name matches ``blank_pattern`` (``*blank*``)
are blanks, not recordings; each recording gets the blank of its own folder
(or of the nearest folder above it, up to the input folder; among several,
the one sharing the longest name prefix), unless ``blank=`` (one file for
all) or ``blanks=`` (a CSV or dict ``file -> blank``) say otherwise.

A fingerprint identifies an input's content: its SHA-256 for files up to
``hash_limit`` bytes (256 MiB), its size and modification time above (said in
``method``), so a rerun knows what changed.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingFileError, ParameterError

__all__ = ["Unit", "TECHNIQUES", "technique_of", "find_units", "fingerprint", "same_input", "input_files",
           "is_blank", "HASH_LIMIT", "BLANK_PATTERN"]

#: recipe kind -> technique of the study
TECHNIQUES = {"impact.events": "impact", "seccm.analysis": "seccm", "seccm.map": "seccm",
              "stick.workflow": "stick", "gitt.analysis": "gitt"}
#: technique -> the kind of data its readers return (nbtools.io.KINDS)
DATA_KINDS = {"impact": "trace", "seccm": "scan", "stick": "curve", "gitt": "curve"}
#: files larger than this (bytes) are identified by size and modification time instead of SHA-256 (hashing a
#: 400 MB recording takes half as long as detecting its events)
HASH_LIMIT = 256 * 2**20
#: name pattern of nanoimpact blanks (case-insensitive)
BLANK_PATTERN = "*blank*"
_GLOB = set("*?[")


@dataclass(frozen=True)
class Unit:
    """One task of a study: the paths it reads and how the study labels it.

    ``name`` is the path relative to the input folder it was found in (the
    file's own name for a file given directly); ``folder`` the folder part
    of it (condition labels come from it); ``id`` the unit's folder under
    ``OUT/files``.
    """

    id: str
    name: str
    paths: tuple
    folder: str
    root: str
    blank: str | None = None

    @property
    def path(self) -> str:
        """The input as given to the analysis: the file, or the folder of a folder scan / particle."""
        return self.paths[0] if len(self.paths) == 1 else str(Path(self.paths[0]).parent)


def technique_of(recipe) -> str:
    """'impact', 'seccm', 'stick' or 'gitt' for a recipe a study can run."""
    try:
        return TECHNIQUES[recipe.kind]
    except KeyError:
        raise ParameterError(
            f"a study runs a nanoimpact (impact.events), SECCM (seccm.analysis or seccm.map), particle-on-a-"
            f"stick (stick.workflow) or GITT (gitt.analysis) recipe, found {recipe.kind!r}; save one with a "
            f"dashboard's Save recipe"
        ) from None


def fingerprint(path, *, hash_limit: int = HASH_LIMIT) -> dict:
    """What identifies a file's content: ``method`` ('sha256' or 'size+mtime'), ``size``, ``mtime_ns``
    and, for files up to ``hash_limit`` bytes, ``sha256``."""
    st = os.stat(path)
    out = {"method": "size+mtime", "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}
    if st.st_size <= hash_limit:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
        out.update(method="sha256", sha256=h.hexdigest())
    return out


def same_input(recorded: dict | None, path, *, hash_limit: int = HASH_LIMIT) -> bool:
    """Is ``path`` the content ``recorded`` (a :func:`fingerprint`) identifies?

    Unchanged size and modification time count as the same content (as
    ``git`` and ``make`` do); a file touched or copied keeps its SHA-256 and
    is compared by it. Files identified by size and time must match both.
    """
    if not recorded:
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    if st.st_size != recorded.get("size"):
        return False
    if st.st_mtime_ns == recorded.get("mtime_ns"):
        return True
    if recorded.get("method") != "sha256":
        return False
    return fingerprint(path, hash_limit=hash_limit).get("sha256") == recorded.get("sha256")


def input_files(unit: Unit) -> list:
    """Every file a unit reads (the files of a folder scan; the blank last, when there is one)."""
    files = []
    for p in unit.paths:
        p = Path(p)
        files += sorted(str(q) for q in p.iterdir() if q.is_file()) if p.is_dir() else [str(p)]
    return files + ([unit.blank] if unit.blank else [])


# ------------------------------------------------------------------ finding the inputs
def _extensions(kind) -> set:
    from ..io import FORMATS

    return {e for info in FORMATS.values() if info.kind == kind and not info.folder for e in info.extensions}


def _content_kind(path: Path) -> str | None:
    """The kind the file's content says (None when no reader recognises it: it becomes a failed row)."""
    from ..io import FORMATS, sniff_format

    try:
        return FORMATS[sniff_format(path)].kind
    except Exception:  # unreadable or unknown: analysed anyway, its error becomes the row's message
        return None


def _is_scan_folder(path: Path) -> bool:
    """Does the folder hold per-landing text files (x and y in their names)? (The folder reader's sniffer.)"""
    from ..io import FORMATS

    try:
        return any(info.sniff(b"", None, path) >= 2 for info in FORMATS.values() if info.folder)
    except Exception:
        return False


def _walk(root: Path, technique: str, exts: set, skip: set, found: list, others: list):
    """Files (and folder scans) under ``root`` for ``technique``; files of another kind go to ``others``."""
    kind = DATA_KINDS[technique]
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_"))
                             and (here / d).resolve() not in skip and not (here / d / "study.json").exists())
        if technique == "seccm":
            scans = [d for d in dirnames if _is_scan_folder(here / d)]
            found += [here / d for d in scans]
            dirnames[:] = [d for d in dirnames if d not in scans]
        for name in sorted(filenames):
            p = here / name
            if name.startswith(".") or p.suffix.lower() not in exts:
                continue
            content = _content_kind(p)
            (found if content in (None, kind) else others).append(p)


def _expand(inputs, technique, skip) -> tuple[list, list]:
    """``[(path, root)]`` of the files/folders to analyse, and the files of another kind left out."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    exts = _extensions(DATA_KINDS[technique])
    found, others = [], []
    for item in inputs:
        text = os.fspath(item)
        p = Path(text).expanduser()
        if p.is_dir():
            if technique == "seccm" and _is_scan_folder(p):
                found.append((p.resolve(), p.resolve().parent))
                continue
            here, rest = [], []
            _walk(p, technique, exts, skip, here, rest)
            found += [(f.resolve(), p.resolve()) for f in here]
            others += rest
        elif p.is_file():
            found.append((p.resolve(), p.resolve().parent))
        elif _GLOB & set(text):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            if not matches:
                raise MissingFileError(f"inputs: the pattern {text!r} matches no file")
            for m in matches:
                mp = Path(m).resolve()
                if mp.is_file() and not mp.name.startswith("."):
                    found.append((mp, mp.parent))
        else:
            raise MissingFileError(f"inputs: {text!r} is not a file, a folder or a glob pattern that matches files")
    seen, unique = set(), []
    for f, root in found:
        if f not in seen:
            seen.add(f)
            unique.append((f, root))
    return unique, others


def _unit_id(path: Path, name: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(name).name)[:60]
    return f"{stem}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def is_blank(path, pattern: str = BLANK_PATTERN) -> bool:
    """Does the file's name match the blank pattern (case-insensitive)?"""
    return bool(pattern) and fnmatch.fnmatch(Path(path).name.lower(), pattern.lower())


def find_units(inputs, technique: str, *, out=None, blank=None, blanks="auto",
               blank_pattern: str = BLANK_PATTERN) -> tuple[list, dict]:
    """The units of work for ``technique`` in ``inputs``.

    Returns
    -------
    (list of Unit, dict)
        The units in a stable order, and notes: ``other_kind`` (files of
        another kind of data, left out), ``blanks`` (blank files found),
        ``unpaired`` (recordings without a blank).
    """
    skip = {Path(out).resolve()} if out is not None else set()
    files, others = _expand(inputs, technique, skip)
    files = [(f, r) for f, r in files if not any(s == f or s in f.parents for s in skip)]
    notes = {"other_kind": [str(p) for p in others], "blanks": [], "unpaired": []}
    if technique == "stick":
        return _particles(files), notes
    blank_files = [f for f, _ in files if technique == "impact" and is_blank(f, blank_pattern)]
    recordings = [(f, r) for f, r in files if f not in set(blank_files)]
    if technique == "impact" and blanks == "auto" and blank is None:
        blank_files += _blanks_beside(recordings, blank_files, blank_pattern)
    notes["blanks"] = [str(b) for b in blank_files]
    pairs = _pair_blanks(recordings, blank_files, blank, blanks) if technique == "impact" else {}
    units = []
    for f, root in recordings:
        name = _relative(f, root) if f != root else f.name
        units.append(Unit(id=_unit_id(f, name), name=name, paths=(str(f),), folder=_folder_label(f, root),
                          root=str(root), blank=pairs.get(f)))
    notes["unpaired"] = [u.name for u in units if technique == "impact" and u.blank is None]
    return units, notes


def _folder_label(path: Path, root: Path) -> str:
    """The folder part of a unit's name: the path from the input folder, or the folder's own name."""
    parent = path.parent
    rel = _relative(parent, root) if parent != root else ""
    return rel if rel and rel != "." else parent.name


def _particles(files) -> list:
    """Particle-on-a-stick: one unit per folder of curve files."""
    by_folder: dict = {}
    for f, root in files:
        by_folder.setdefault((f.parent, root), []).append(f)
    units = []
    for (folder, root), fs in sorted(by_folder.items()):
        name = _relative(folder, root) if folder != root else folder.name
        units.append(Unit(id=_unit_id(folder, name or folder.name), name=name or folder.name,
                          paths=tuple(str(p) for p in sorted(fs)), folder=name or folder.name, root=str(root)))
    return units


def _pair_blanks(recordings, blank_files, blank, blanks) -> dict:
    """recording path -> blank path (str) by the explicit mapping, the one blank, or the folder."""
    if blank is not None:
        b = Path(blank).expanduser().resolve()
        if not b.is_file():
            raise MissingFileError(f"blank: {blank!r} is not a file; give the blank recording's path")
        return {f: str(b) for f, _ in recordings}
    if blanks is None or blanks is False:
        return {}
    if isinstance(blanks, str) and blanks == "auto":
        return {f: str(b) for f, root in recordings if (b := _nearest_blank(f, root, blank_files)) is not None}
    table = _read_mapping(blanks)
    out = {}
    for f, root in recordings:
        b = _lookup(table, f, root)
        if b is not None:
            bp = Path(b).expanduser()
            bp = (bp if bp.is_absolute() else Path(root) / bp).resolve()
            if not bp.is_file():
                raise MissingFileError(f"blanks: the blank {b!r} given for {f.name} is not a file")
            out[f] = str(bp)
    return out


def _blanks_beside(recordings, known, pattern) -> list:
    """Blank files in the folders of recordings given one by one (``rec_*.abf`` leaves out ``blank.abf``)."""
    exts = _extensions("trace")
    known = set(known)
    found = []
    for folder in sorted({f.parent for f, _ in recordings}):
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix.lower() in exts and is_blank(p, pattern) and p.resolve() not in known:
                found.append(p.resolve())
                known.add(p.resolve())
    return found


def _nearest_blank(f: Path, root: Path, blank_files) -> Path | None:
    folder = f.parent
    while True:
        here = [b for b in blank_files if b.parent == folder]
        if here:
            return max(sorted(here), key=lambda b: len(os.path.commonprefix([b.name.lower(), f.name.lower()])))
        if folder == root or folder == folder.parent or root not in folder.parents:
            return None
        folder = folder.parent


def _read_mapping(source) -> dict:
    """``file -> blank`` from a dict or a CSV with columns file and blank."""
    if isinstance(source, dict):
        return {str(k): str(v) for k, v in source.items()}
    import pandas as pd

    p = Path(source).expanduser()
    if not p.is_file():
        raise MissingFileError(f"blanks: {source!r} is not a file; give a CSV with columns file and blank")
    df = pd.read_csv(p, dtype=str)
    cols = {c.strip().lower(): c for c in df.columns}
    if "file" not in cols or "blank" not in cols:
        raise ParameterError(f"{p}: a blanks table needs the columns 'file' and 'blank', found {list(df.columns)}")
    return {str(a).strip(): str(b).strip() for a, b in zip(df[cols["file"]], df[cols["blank"]]) if isinstance(b, str)}


def _lookup(table: dict, f: Path, root) -> str | None:
    """The mapping's value for ``f``: by relative path, by name, or by a glob pattern."""
    rel = _relative(f, Path(root))
    for key in (rel, f.name, str(f)):
        if key in table:
            return table[key]
    for pattern, value in table.items():
        if _GLOB & set(pattern) and (fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(f.name, pattern)):
            return value
    return None
