"""Run a callback once things have been quiet for a while (a debounce), on the kernel's event loop.

In a Jupyter kernel or Voila page the widget callbacks run on a running
asyncio loop: :class:`Later` puts the call there, ``delay`` seconds after the
last :meth:`~Later.schedule`. Without a running loop (a script, a test)
:meth:`~Later.schedule` returns False and the caller does the work at once.
"""

from __future__ import annotations

import asyncio

__all__ = ["Later"]


class Later:
    """Call ``func()`` ``delay`` seconds after the last :meth:`schedule` (each one postpones it).

    Examples
    --------
    >>> calls = []
    >>> later = Later(lambda: calls.append(1), 0.1)
    >>> later.schedule()  # no running event loop here: the caller does the work itself
    False
    """

    def __init__(self, func, delay: float):
        self.func, self.delay, self._handle = func, float(delay), None

    @property
    def pending(self) -> bool:
        """True while a call waits."""
        return self._handle is not None

    def schedule(self) -> bool:
        """(Re)start the wait; False when no event loop runs (nothing is scheduled)."""
        self.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._handle = loop.call_later(self.delay, self._run)
        return True

    def cancel(self) -> None:
        """Drop the waiting call, if any."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _run(self) -> None:
        self._handle = None
        self.func()
