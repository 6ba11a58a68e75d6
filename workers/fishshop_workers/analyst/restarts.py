"""When to restart a failed sink task: soon at first, then less and less often.

A task fails for good reasons (the database went away and came back, a commit was
cut short) and for bad ones (a wrong password): restarting at once and forever
would hammer a database that refuses, and never restarting leaves the table
behind for good. The delay doubles from ``first`` up to ``cap``, and starts over
once the connector has run without failing for ``settled`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RestartBackoff"]


@dataclass
class RestartBackoff:
    first: float = 2.0
    cap: float = 60.0
    settled: float = 120.0
    restarts: int = 0
    """Restarts since the connector last ran settled."""
    _next_at: float = 0.0
    _running_since: float | None = None

    def delay(self) -> float:
        """How long to wait before the next restart."""
        return min(self.cap, self.first * 2 ** max(0, self.restarts - 1)) if self.restarts else 0.0

    def failed(self, now: float) -> bool:
        """A task is failed at ``now``: True when it is time to restart it."""
        self._running_since = None
        if now < self._next_at:
            return False
        self.restarts += 1
        self._next_at = now + self.delay()
        return True

    def running(self, now: float) -> None:
        """Everything runs at ``now``: after ``settled`` seconds the delay starts over."""
        if self._running_since is None:
            self._running_since = now
        elif now - self._running_since >= self.settled:
            self.restarts = 0
            self._next_at = 0.0
