"""Progress of a study: a terminal bar, or a callback (the dashboard's progress bar)."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Counts finished units and shows them.

    Parameters
    ----------
    total : int
        Units to analyse in this run.
    show : bool or callable
        True: a bar on stderr (redrawn in place on a terminal, a line per
        10 % otherwise); a callable: ``show(done, total, record)`` after each
        unit (``record`` None for the first call); False: nothing.
    """

    def __init__(self, total: int, show=True, stream=None):
        self.total, self.done, self.failed = total, 0, 0
        self.callback = show if callable(show) else None
        self.terminal = show is True
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self._shown = -1
        if self.callback:
            self.callback(0, total, None)

    def log(self, text: str) -> None:
        """A line of text for the user (terminal only)."""
        if self.terminal:
            print(text, file=self.stream, flush=True)

    def update(self, record: dict) -> None:
        """One more unit finished (its record)."""
        self.done += 1
        self.failed += record.get("status") == "failed"
        if self.callback:
            self.callback(self.done, self.total, record)
        if self.terminal:
            self._draw(record)

    def _draw(self, record) -> None:
        frac = self.done / self.total if self.total else 1.0
        if not self.tty:
            step = int(frac * 10)
            if step == self._shown and self.done != self.total:
                return
            self._shown = step
        dt = time.perf_counter() - self.t0
        rate = self.done / dt if dt > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        failed = f", {self.failed} failed" if self.failed else ""
        text = (f"[{bar}] {self.done}/{self.total} files{failed}  {rate:.2f} files/s"
                + (f"  {eta:.0f} s left" if self.done < self.total and eta == eta else ""))
        if self.tty:
            end = "\n" if self.done == self.total else ""
            print("\r" + text.ljust(100), end=end, file=self.stream, flush=True)
        else:
            print(text, file=self.stream, flush=True)
        if record.get("status") == "failed" and not self.tty:
            print(f"  failed: {record['unit']['name']}: {record['message'][:200]}", file=self.stream, flush=True)
