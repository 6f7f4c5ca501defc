"""Resource bounds of every reader: a memory budget, declared sizes against the file, line and field limits.

A reader never trusts a size written in a file. Before it allocates, it checks

- the *declared* size (an ABF sample count, an HDF5 dataset shape, a ZIP
  member's uncompressed size, a TDMS channel length) against what the file can
  hold (:func:`check_declared`): a 56 KB file cannot hold 8 GiB of samples;
- the memory it is about to use against the *budget* (:func:`check_budget`):
  ``NBTOOLS_MAX_LOAD_BYTES`` (bytes, ``'512M'`` and ``'2G'`` accepted), by
  default a quarter of the machine's memory (:func:`max_load_bytes`);
- the expansion of compressed data (:func:`check_expansion`): at most
  :data:`MAX_EXPANSION` times the stored bytes beyond :data:`SMALL_BYTES`.

Text readers read header lines of at most :data:`MAX_LINE_BYTES` and tables of
at most :data:`MAX_FIELDS` fields per line. Data larger than the budget are
memory-mapped where the format stores them raw (ABF, ``.npy``, contiguous
HDF5), otherwise refused with :class:`~nbtools.errors.SizeLimitError` saying
how to proceed.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading

from ..errors import ParameterError, SizeLimitError

__all__ = ["max_load_bytes", "check_budget", "check_declared", "check_expansion", "human_bytes", "address_space",
           "MAX_LINE_BYTES", "MAX_FIELDS", "MAX_EXPANSION", "SMALL_BYTES", "ENV"]

#: Environment variable holding the memory budget of one load, in bytes.
ENV = "NBTOOLS_MAX_LOAD_BYTES"
#: Longest header or sniffed line read (bytes); longer lines are cut there.
MAX_LINE_BYTES = 1 << 16
#: Most fields a line of a text table may hold.
MAX_FIELDS = 4096
#: Most a compressed block may expand (uncompressed / stored bytes) above SMALL_BYTES.
MAX_EXPANSION = 200
#: Sizes up to which expansion is never questioned (bytes).
SMALL_BYTES = 64 << 20

_SUFFIX = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return None


def max_load_bytes() -> int:
    """The memory budget of one load in bytes.

    ``NBTOOLS_MAX_LOAD_BYTES`` when set (an integer, or with a suffix ``K``,
    ``M``, ``G``, ``T``: ``'512M'``), else a quarter of the physical memory
    (2 GiB when it cannot be found), never less than 64 MiB.

    Raises
    ------
    ParameterError
        The variable is set but is not a size.
    """
    raw = os.environ.get(ENV, "").strip()
    if raw:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", raw.lower())
        if not m:
            raise ParameterError(f"{ENV}={raw!r}: expected a size in bytes such as 2000000000, '512M' or '4G'")
        return int(float(m.group(1)) * _SUFFIX[m.group(2)])
    mem = _physical_memory()
    return max(64 << 20, (mem // 4) if mem else 2 << 30)


def human_bytes(n: float) -> str:
    """``'2.3 GiB'``: a byte count for messages."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"  # pragma: no cover


def check_budget(nbytes: float, *, path, what: str, hint: str = "") -> None:
    """SizeLimitError when ``nbytes`` (about to be allocated) exceeds :func:`max_load_bytes`."""
    budget = max_load_bytes()
    if nbytes > budget:
        raise SizeLimitError(
            f"{path}: {what} needs {human_bytes(nbytes)} of memory, more than the load budget of "
            f"{human_bytes(budget)} ({ENV}; default a quarter of this machine's memory). "
            + (hint + " " if hint else "")
            + f"Crop or split the file, save the current as .npy (memory-mapped, never loaded whole), "
            f"or set {ENV} higher if the machine has the memory."
        )


def check_declared(declared: float, available: float, *, path, what: str) -> None:
    """SizeLimitError when the file declares more bytes (or items) than it holds.

    ``declared`` and ``available`` are in the same unit (bytes, or samples).
    """
    if declared < 0:
        raise SizeLimitError(f"{path}: {what} is negative ({declared:g}); the header is damaged")
    if declared > available:
        raise SizeLimitError(
            f"{path}: {what} is {declared:g} but the file can hold only {available:g}; the header is damaged "
            "or the file is truncated (copy it again from the instrument computer)"
        )


def check_expansion(uncompressed: float, stored: float, *, path, what: str) -> None:
    """SizeLimitError for compressed data expanding more than :data:`MAX_EXPANSION` times (beyond 64 MiB)."""
    if uncompressed > SMALL_BYTES and uncompressed > MAX_EXPANSION * max(stored, 1):
        how = (f"declares {human_bytes(uncompressed)} but stores no data" if stored <= 0 else
               f"would expand from {human_bytes(stored)} to {human_bytes(uncompressed)} "
               f"({uncompressed / stored:.0f} times, more than {MAX_EXPANSION})")
        raise SizeLimitError(
            f"{path}: {what} {how}; the file is damaged or built to exhaust memory. If it is genuine, save "
            "the data uncompressed (np.save) and load that."
        )
    check_budget(uncompressed, path=path, what=what)


_GUARD = threading.Lock()


def _vm_size() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            return next(int(ln.split()[1]) * 1024 for ln in fh if ln.startswith("VmSize"))
    except (OSError, StopIteration, ValueError):
        return None


@contextlib.contextmanager
def address_space(extra: int):
    """Let the process grow by at most ``extra`` bytes of address space inside the block (Linux; else no-op).

    For C libraries that trust sizes written in a file's metadata (HDF5
    reading a damaged attribute can allocate gigabytes): an allocation beyond
    the limit fails inside the library, which raises, instead of the kernel
    running out of memory. The limit (``RLIMIT_AS``, current size + ``extra``)
    is lifted when the block ends; only small metadata reads run inside it,
    never memory maps of data.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    now = _vm_size()
    if now is None or not _GUARD.acquire(blocking=False):
        yield  # not Linux, or another thread holds the guard: no limit
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = now + int(extra)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft != resource.RLIM_INFINITY and soft <= want:
            yield  # already tighter
            return
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    finally:
        _GUARD.release()
