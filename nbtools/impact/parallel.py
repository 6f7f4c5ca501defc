"""Spreading the sample loops of spike detection over threads.

The numba kernels of :mod:`nbtools.impact._kernels` release the GIL
(``nogil=True``), so a plain thread pool runs them on every core over the
same array or memory map; no process forks, no copies. Work is cut at
positions that leave each result unchanged:

- block statistics: pieces of whole blocks (every block is computed alone);
- features, heights, mains fits: groups of events or of mains segments
  (each event's row and each segment's fit read only their own samples);
- the hysteresis scan, which carries its state across samples: pieces are
  scanned in parallel as if idle at their start, then a serial pass re-scans,
  from each seam where an event was open, only until the exact scan and the
  piece's own scan are idle at the same sample (from there on they agree):
  :func:`nbtools.impact.stages.hysteresis_scan`.

Pieces are multiples of the block length ``B``, and within the chunks of a
memory map, so memory stays bounded by ``workers`` chunks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["pieces", "pmap", "event_groups", "MIN_PIECE", "PIECES_PER_WORKER"]

#: no piece is cut shorter than this many samples (thread hand-off costs more)
MIN_PIECE = 1 << 16
#: pieces (and event groups) per worker, so that uneven ones still share out evenly
PIECES_PER_WORKER = 4


def pieces(chunks, B, workers, min_len=None):
    """The ``chunks`` (``[(i0, i1), ...]``, starts multiples of ``B``) cut into about
    PIECES_PER_WORKER x ``workers`` pieces in all, each a multiple of ``B`` long (but
    a chunk's last) and at least ``min_len`` samples (default :data:`MIN_PIECE`, read at
    each call); ``chunks`` unchanged for one worker."""
    if workers <= 1:
        return list(chunks)
    min_len = MIN_PIECE if min_len is None else min_len
    total = sum(b - a for a, b in chunks)
    want = max(1, PIECES_PER_WORKER * workers)
    size = max(min_len, -(-total // want))
    size = max(B, -(-size // B) * B)
    out = []
    for a, b in chunks:
        out.extend((i, min(i + size, b)) for i in range(a, b, size))
    return out


def pmap(fn, items, workers):
    """``[fn(item) for item in items]``, on ``workers`` threads when there are several items."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(it) for it in items]
    with ThreadPoolExecutor(min(workers, len(items))) as ex:
        return list(ex.map(fn, items))


def event_groups(starts, ranges, workers):
    """Positions (into ``starts``, sorted) of the events grouped by the range of ``ranges`` their start
    falls in; for several workers each range's events are also cut into groups of at most
    ``len(starts) / (PIECES_PER_WORKER x workers)`` (rounded up)."""
    starts = np.asarray(starts)
    if starts.size == 0:
        return []
    where = np.searchsorted(np.asarray([b for _, b in ranges], np.int64), starts, side="right")
    cut = np.flatnonzero(np.diff(where)) + 1
    groups = np.split(np.arange(starts.size), cut)
    if workers <= 1:
        return groups
    most = max(1, -(-starts.size // (PIECES_PER_WORKER * workers)))
    out = []
    for g in groups:
        out.extend(g[i:i + most] for i in range(0, g.size, most))
    return out
