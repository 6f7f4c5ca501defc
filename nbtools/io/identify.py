"""What a file is when no reader reads it: placeholders, documents, archives, instrument binaries.

:func:`not_data` names files that are never instrument data (a Git-LFS or
git-annex pointer, a saved web page, a spreadsheet, a PDF, an image, a
compressed archive) so that :func:`nbtools.io.load` refuses them first, whatever
``format=`` says; :func:`describe` adds what only a failed sniff suggests (a CH
Instruments binary ``.bin``, whose header names the technique) for the "format
not recognised" message. Each answer says what the
file is and what to do.
"""

from __future__ import annotations

import re

__all__ = ["not_data", "describe", "chi_binary_technique", "CHI_TECHNIQUES"]

#: Technique names CH Instruments software writes in its files (text exports and binary .bin).
CHI_TECHNIQUES = (
    "Amperometric i-t Curve", "Cyclic Voltammetry", "Linear Sweep Voltammetry", "Chronoamperometry",
    "Chronocoulometry", "Chronopotentiometry", "Multi-Potential Steps", "Differential Pulse Voltammetry",
    "Normal Pulse Voltammetry", "Square Wave Voltammetry", "A.C. Impedance", "Open Circuit Potential - Time",
    "Bulk Electrolysis with Coulometry", "Differential Pulse Amperometry", "Double Differential Pulse Amperometry",
    "Triple Pulse Amperometry", "Integrated Pulse Amperometric Detection", "Tafel Plot", "Staircase Voltammetry",
    "Sweep-Step Functions", "Multi-Current Steps", "Potentiometric Stripping Analysis", "A.C. Voltammetry",
)
_LFS = re.compile(r"^version https://git-lfs\.github\.com/spec/v\d+\s*$", re.MULTILINE)
_LFS_OID = re.compile(r"^oid sha256:([0-9a-f]{8,64})", re.MULTILINE)
_LFS_SIZE = re.compile(r"^size (\d+)", re.MULTILINE)
_ANNEX = re.compile(r"(^|/)\.git/annex/objects/|^/annex/objects/", re.MULTILINE)
_SIGNATURES = (
    (b"%PDF-", "a PDF document", "export the data from the instrument software as text (CSV/TXT)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "load the data file the plot was made from"),
    (b"\xff\xd8\xff", "a JPEG image", "load the data file the plot was made from"),
    (b"GIF8", "a GIF image", "load the data file the plot was made from"),
    (b"II*\x00", "a TIFF image", "load the data file the image was made from"),
    (b"MM\x00*", "a TIFF image", "load the data file the image was made from"),
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first (gunzip) and load the file inside"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it and load the files inside"),
    (b"Rar!\x1a\x07", "a RAR archive", "extract it and load the files inside"),
    (b"BZh", "a bzip2-compressed file", "decompress it first (bunzip2) and load the file inside"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office file (e.g. Excel .xls)",
     "save the sheet as CSV (File > Save As > CSV) and load the CSV"),
)


def not_data(head: bytes, text: str | None) -> str | None:
    """A sentence naming a file that is never instrument data (pointer, web page, document, image, archive)."""
    if head[:4] == b"PK\x03\x04" and (b"[Content_Types].xml" in head or b"xl/" in head[:4096]):
        return ("is a spreadsheet (Excel .xlsx), not an instrument file: save the sheet as CSV "
                "(File > Save As > CSV) and load the CSV")
    if head[:4] == b"PK\x03\x04" and b"mimetypeapplication/vnd.oasis.opendocument" in head[:200]:
        return "is an OpenDocument file (LibreOffice): save the sheet as CSV and load the CSV"
    for sig, what, todo in _SIGNATURES:
        if head.startswith(sig):
            return f"is {what}, not an instrument data file: {todo}"
    if text is None:
        return None
    if _LFS.search(text[:200]):
        oid = _LFS_OID.search(text)
        size = _LFS_SIZE.search(text)
        what = "a Git LFS pointer file"
        if oid or size:
            what += " (" + ", ".join(x for x in (f"oid sha256:{oid.group(1)[:12]}..." if oid else "",
                                               f"the real file has {size.group(1)} bytes" if size else "") if x) + ")"
        return (f"is {what}, not the data: the repository was cloned or downloaded without Git LFS. "
                "Run 'git lfs install' and 'git lfs pull' in the repository (or download the file itself "
                "from the web page's 'Download raw file' button) and load the real file")
    if len(head) < 2048 and _ANNEX.search(text):
        return ("is a git-annex pointer, not the data: run 'git annex get <file>' in the repository "
                "(or 'datalad get <file>') and load the real file")
    start = text.lstrip()[:200].lower()
    if start.startswith(("<!doctype html", "<html")) or (start.startswith("<?xml") and "<html" in text[:2000].lower()):
        return ("is a web page (HTML), not the data: the browser saved the page that shows the file. "
                "Download the raw file (on GitHub: the 'Raw' or 'Download raw file' button) and load that")
    return None


def chi_binary_technique(head: bytes, text: str | None) -> str | None:
    """The technique named in a binary CH Instruments file's header, else None (text files: None)."""
    if text is not None:
        return None
    for name in CHI_TECHNIQUES:
        if name.encode("ascii") in head:
            return name
    return None


def describe(head: bytes, text: str | None) -> str | None:
    """A sentence naming a file no reader takes and what to do with it, else None."""
    found = not_data(head, text)
    if found:
        return found
    tech = chi_binary_technique(head, text)
    if tech:
        return (f"is a CH Instruments binary data file (.bin) of an {tech!r} experiment; nbtools reads the "
                "text export: open it in the CHI software and save it as text (File > Save As, type "
                "'Text File (*.txt)', or File > Convert to Text), then load the .txt")
    return None
