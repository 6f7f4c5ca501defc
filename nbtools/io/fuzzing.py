"""Seeded fuzzing of the readers: mutated files of every format, and what reading each one gave.

:func:`mutants` writes mutated copies of seed files (:mod:`nbtools.io.fuzz_seeds`)
with one of the :data:`MUTATIONS` each: truncations, byte flips, header
corruption, huge declared sizes (binary fields and numbers in text headers), a
line of 300,000 fields, wrong extensions, other encodings, NaN/Inf, line
shuffles, halves of two files spliced. :func:`outcome` reads one with
:func:`nbtools.io.load` (by content, or with the seed's format forced) and names
what happened: ``'ok'``, ``'nbtools:<ErrorClass>'`` or ``'other:<ExceptionClass>'``
(a bug: every failure must be an :mod:`nbtools.errors` error).

Everything is decided by ``random.Random(seed)``: the same seed gives the same
files.
"""

from __future__ import annotations

import hashlib
import random
import re
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MUTATIONS", "Mutant", "mutants", "outcome", "digest"]

_EXTREMES_I = (0, 1, -1, 2**31 - 1, -(2**31), 2**32 - 1, 2**16 - 1, 0x7FFF)
_EXTREMES_Q = (2**62, -(2**62), 2**63 - 1, 2**40)
_EXTREMES_F = (float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 0.0, 1e-310)
_TEXT_NUMBERS = ("nan", "NaN", "inf", "-inf", "1e400", "-1e400", "9" * 30, "0", "-0", "1e-320", "", "abc", "1,5.3")
_HEADER_NUMBERS = ("999999999", "2147483647", "-1", "0", "4294967295", "1e308", "nan")
_EXTENSIONS = (".abf", ".atf", ".csv", ".txt", ".dat", ".npy", ".npz", ".h5", ".nc", ".tdms", ".dta", ".mpt",
               ".mpr", ".bin", "")
_NUMBER = re.compile(rb"[-+]?\d+\.?\d*(?:[eE][-+]?\d+)?")


def _is_text(data: bytes) -> bool:
    return b"\x00" not in data[:4096]


def _truncate(data, rng, other):
    if len(data) < 2:
        return b""
    cut = rng.randrange(0, min(len(data), 2048)) if rng.random() < 0.5 else rng.randrange(0, len(data))
    return data[:cut]


def _flip(data, rng, other):
    b = bytearray(data)
    for _ in range(rng.randint(1, 24)):
        if b:
            b[rng.randrange(len(b))] ^= rng.randrange(1, 256)
    return bytes(b)


def _header_fields(data, rng, other):
    """Overwrite aligned fields of the first 2 KB with extreme integers and floats (declared sizes, offsets)."""
    b = bytearray(data)
    top = max(1, min(len(b), 2048) - 8)
    for _ in range(rng.randint(1, 6)):
        pos = rng.randrange(0, top) & ~3
        kind = rng.random()
        if kind < 0.5:
            chunk = struct.pack("<I", rng.choice(_EXTREMES_I) % 2**32)
        elif kind < 0.8:
            chunk = struct.pack("<q", rng.choice(_EXTREMES_Q))
        else:
            chunk = struct.pack("<d", rng.choice(_EXTREMES_F))
        b[pos:pos + len(chunk)] = chunk[:max(0, len(b) - pos)]
    return bytes(b)


def _text_numbers(data, rng, other):
    """Replace numbers anywhere in a text file by NaN, Inf, huge, empty or garbage tokens."""
    if not _is_text(data):
        return _flip(data, rng, other)
    hits = list(_NUMBER.finditer(data))
    if not hits:
        return data
    out = bytearray(data)
    for m in sorted(rng.sample(hits, min(len(hits), rng.randint(1, 12))), key=lambda m: -m.start()):
        out[m.start():m.end()] = rng.choice(_TEXT_NUMBERS).encode()
    return bytes(out)


def _header_numbers(data, rng, other):
    """Huge or negative numbers in the first 30 lines (row counts, header sizes, column counts, rates)."""
    if not _is_text(data):
        return _header_fields(data, rng, other)
    lines = data.split(b"\n")
    head = b"\n".join(lines[:30])
    hits = list(_NUMBER.finditer(head))
    if not hits:
        return data
    out = bytearray(head)
    for m in sorted(rng.sample(hits, min(len(hits), rng.randint(1, 4))), key=lambda m: -m.start()):
        out[m.start():m.end()] = rng.choice(_HEADER_NUMBERS).encode()
    return bytes(out) + (b"\n" + b"\n".join(lines[30:]) if len(lines) > 30 else b"")


def _wide_line(data, rng, other):
    """A line of 300,000 fields (or 2 MB without a delimiter) in the middle of the data."""
    lines = data.split(b"\n")
    k = rng.randrange(0, max(1, len(lines)))
    junk = b",".join([b"1"] * 300_000) if rng.random() < 0.7 else b"7" * (2 << 20)
    return b"\n".join(lines[:k] + [junk] + lines[k:])


def _encoding(data, rng, other):
    if not _is_text(data):
        return data[:100] + b"\x00" * rng.randint(1, 64) + data[100:]
    text = data.decode("latin-1")
    choice = rng.randrange(5)
    if choice == 0:
        return text.encode("utf-16")
    if choice == 1:
        return b"\xef\xbb\xbf" + data
    if choice == 2:
        return text.replace("A", "\u00b5A").encode("utf-8")
    if choice == 3:
        return data.replace(b"\n", b"\r")
    pos = rng.randrange(0, max(1, len(data)))
    return data[:pos] + b"\x00\xff\xfe" + data[pos:]


def _lines(data, rng, other):
    if not _is_text(data):
        n = len(data)
        a, b = sorted(rng.randrange(0, max(1, n)) for _ in range(2))
        return data[:a] + data[b:] + data[a:b]
    lines = data.split(b"\n")
    if len(lines) < 3:
        return data + data
    a, b = sorted(rng.sample(range(len(lines)), 2))
    op = rng.randrange(3)
    if op == 0:
        del lines[a:b]
    elif op == 1:
        lines[a:a] = lines[a:b] * rng.randint(1, 3)
    else:
        block = lines[a:b]
        rng.shuffle(block)
        lines[a:b] = block
    return b"\n".join(lines)


def _splice(data, rng, other):
    return data[:rng.randrange(0, max(1, len(data)))] + other[rng.randrange(0, max(1, len(other))):]


def _tiny(data, rng, other):
    return data[:rng.choice((0, 1, 3, 4, 8, 16))]


def _zip_sizes(data, rng, other):
    """Huge uncompressed sizes in a ZIP's directory (an .npz member declaring GiB), else header fields."""
    if not data.startswith(b"PK"):
        return _header_fields(data, rng, other)
    b = bytearray(data)
    for sig, off in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        pos = b.find(sig)
        while pos >= 0:
            b[pos + off:pos + off + 4] = struct.pack("<I", rng.choice((0xFFFFFFF0, 0x7FFFFFFF, 0x40000000)))
            pos = b.find(sig, pos + 4)
    return bytes(b)


#: name -> function(data, rng, other_seed_data) -> mutated bytes
MUTATIONS = {
    "truncate": _truncate, "flip": _flip, "header-fields": _header_fields, "text-numbers": _text_numbers,
    "header-numbers": _header_numbers, "wide-line": _wide_line, "encoding": _encoding, "lines": _lines,
    "splice": _splice, "tiny": _tiny, "zip-sizes": _zip_sizes, "extension": lambda d, rng, o: d,
}


@dataclass(frozen=True)
class Mutant:
    """A mutated file, the seed it came from, the mutation, and whether the seed's format is forced."""

    path: Path
    seed: object
    mutation: str
    forced: bool
    options: dict = field(default_factory=dict)


def mutants(seeds, n: int, folder, *, seed: int = 0, weights=None) -> list[Mutant]:
    """Write ``n`` mutated files of the seeds into ``folder`` (deterministic for a given ``seed``)."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(MUTATIONS)
    w = [(weights or {}).get(k, 1.0) for k in names]
    blobs = {s.path: s.path.read_bytes() for s in seeds}
    out = []
    for k in range(n):
        s = seeds[k % len(seeds)] if k < len(seeds) * 2 else rng.choice(seeds)
        name = rng.choices(names, weights=w)[0]
        other = blobs[rng.choice(seeds).path]
        data = MUTATIONS[name](blobs[s.path], rng, other)
        ext = rng.choice(_EXTENSIONS) if name == "extension" else s.path.suffix
        p = folder / f"m{k:05d}_{name}_{s.path.stem}{ext}"
        p.write_bytes(data)
        forced = rng.random() < 0.4
        out.append(Mutant(p, s, name, forced, dict(s.options)))
    return out


def digest(path) -> str:
    """SHA-256 and modification time of a file: compared before and after reading."""
    p = Path(path)
    return hashlib.sha256(p.read_bytes()).hexdigest() + f":{p.stat().st_mtime_ns}"


def outcome(m: Mutant) -> tuple[str, str]:
    """``(status, message)`` of loading one mutant: ``'ok'``, ``'nbtools:<Class>'`` or ``'other:<Class>'``.

    The result is used as a user would (a lazy trace's current is computed, a
    scan's and a curve's values are summed), warnings are ignored.
    """
    import numpy as np

    from ..errors import NbtoolsError
    from ._load import load

    kw = dict(m.options)
    if m.forced:
        kw["format"] = m.seed.fmt
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = load(m.path, kind=m.seed.kind if m.forced else None, **kw)
            if hasattr(res, "current") and hasattr(res, "fs"):
                float(np.nansum(res.current[:10_000_000]))
            elif hasattr(res, "data_vars"):
                float(res["current"].sum())
            else:
                float(np.nansum(res.to_numpy(dtype=float)))
        return "ok", ""
    except NbtoolsError as exc:
        return f"nbtools:{type(exc).__name__}", str(exc)[:300]
    except Exception as exc:  # noqa: BLE001 - what the fuzzer looks for
        return f"other:{type(exc).__name__}", f"{exc!s}"[:300]
