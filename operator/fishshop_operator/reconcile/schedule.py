"""When the resync loop acts: which failing shops are due for a retry, and when to look
again. Pure; times are the caller's clock.

Each failing shop has a deadline of its own, ``retry`` seconds after its last failure
ended, so a shop whose Kafka takes 20 s to refuse paces only itself, and full rounds
keep their own schedule however long retries take. Design: docs/design/operator.md,
"The resync loop".
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping
from typing import TypeVar

__all__ = ["due_retries", "next_look", "retry_times"]

K = TypeVar("K", bound=Hashable)


def retry_times(
    failed: Mapping[K, float],
    *,
    retry: float,
    answered: Mapping[K, float],
    busy: Collection[K],
) -> dict[K, float]:
    """Failing shop -> when to retry it: ``retry`` seconds after its last failure ended
    (``failed``). A shop being retried now (``busy``), or already retried for that very
    failure (``answered``: the failure each retry was started for), has no time: what
    that retry ends in gives the next one."""
    return {
        key: failed_at + retry
        for key, failed_at in failed.items()
        if key not in busy and answered.get(key) != failed_at
    }


def due_retries(times: Mapping[K, float], now: float) -> list[K]:
    """The shops whose retry time has come at ``now``."""
    return [key for key, at in times.items() if at <= now]


def next_look(
    times: Mapping[K, float], *, now: float, retry: float | None, full_at: float | None
) -> float:
    """When the loop looks again: at the earliest retry time, at the next full round
    (``full_at``; None while one runs, whose end wakes the loop), and, with retries, no
    later than ``retry`` seconds from now: a shop that fails after this look is due no
    earlier than that. ``math.inf`` when nothing is to come."""
    candidates = list(times.values())
    if full_at is not None:
        candidates.append(full_at)
    if retry is not None:
        candidates.append(now + retry)
    return min(candidates, default=math.inf)
