"""When to restart a failed sink task: at once, then less and less often.

A task fails for passing reasons (a commit cut short by a database restart) and for
lasting ones (a wrong password): restarting at once and forever would hammer a
database that refuses, and never restarting leaves the table behind for good. The
operator and ``fishshop demo``'s keeper both follow this.
"""

from __future__ import annotations

from dataclasses import dataclass

from fishshop_workers.errors import remote_text

__all__ = ["FIRST_DELAY", "LONGEST_DELAY", "STEADY_SECONDS", "RestartBackoff", "trace_reason"]

FIRST_DELAY = 5.0
"""Seconds after a restart before the next one (doubling with each restart in a row)."""
LONGEST_DELAY = 300.0
"""The longest wait between two restarts: a fixed cause is noticed within five minutes."""
STEADY_SECONDS = 60.0
"""Tasks that have run this long since the last restart have recovered."""


def trace_reason(trace: str | None) -> str:
    """A Java trace in one line: its first line, and its root cause when it has one.

    Connect's own first line ("Exiting WorkerSinkTask due to unrecoverable
    exception") says that a task stopped; the last "Caused by" says why.
    """
    lines = [remote_text(line, 10_000) for line in (trace or "").strip().splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    first = lines[0][:300]
    causes = [line for line in lines if line.startswith("Caused by:")]
    if not causes:
        return first
    root = causes[-1].removeprefix("Caused by:").strip()[:300]
    return f"{first} (root cause: {root})"


@dataclass(frozen=True)
class RestartBackoff:
    """One shop's restarts in a row, and when the next may come."""

    in_a_row: int = 0
    last_at: float | None = None
    """When the last restart was made (monotonic seconds); None: none yet."""

    def delay(self) -> float:
        """Seconds to wait after the last restart before the next one."""
        if self.in_a_row == 0:
            return 0.0
        return float(min(LONGEST_DELAY, FIRST_DELAY * 2.0 ** (self.in_a_row - 1)))

    def due(self, now: float) -> bool:
        """A failed task may be restarted now."""
        return self.last_at is None or now - self.last_at >= self.delay()

    def restarted(self, now: float) -> RestartBackoff:
        return RestartBackoff(self.in_a_row + 1, now)

    def observed(self, steady: bool, now: float) -> RestartBackoff:
        """Starts over when every task has run (``steady``) long enough since the
        last restart."""
        if steady and self.last_at is not None and now - self.last_at >= STEADY_SECONDS:
            return RestartBackoff()
        return self
