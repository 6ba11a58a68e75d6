"""How many preparers (or cooks) the queue asks for. Pure.

One replica for every ``orders_per_replica`` orders waiting (records, never offsets),
between the bounds and never more than the partitions; up at once, down only after
the window, as the HPA's scale-down stabilisation does. Design: docs/design/operator.md,
"autoscale/".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fishshop_operator.autoscale.spec import AutoscaleSpec
from fishshop_workers.shop.roles import PREPARER

__all__ = ["Decision", "Recommendations", "bounds", "decide", "first_sight", "recommend"]


@dataclass(frozen=True)
class Recommendations:
    """What one role's autoscaler remembers between looks at the queue."""

    replicas: int
    """Replicas decided, which the workload runs."""
    history: tuple[tuple[float, int], ...]
    """(when, replicas recommended) within the window that may still be its highest,
    oldest (and highest) first."""
    last_scale: float | None = None
    """When the replicas last changed (the caller's clock), None before any change."""


@dataclass(frozen=True)
class Decision:
    replicas: int
    """Replicas to run now."""
    previous: int
    """Replicas that ran before this look."""
    recommended: int
    """What the queue alone asks for now, within bounds."""
    reason: str
    """Why, for people: the queue, the rule and any bound that held."""
    memory: Recommendations

    @property
    def scaled(self) -> bool:
        return self.replicas != self.previous


def bounds(spec: AutoscaleSpec, partitions: int) -> tuple[int, int]:
    """Lowest and highest replicas allowed: partitions cap both (more would sit idle)."""
    high = min(spec.max_replicas, partitions)
    return min(spec.min_replicas, high), high


def _plural(count: int, role: str) -> str:
    return f"{count} {role}{'' if count == 1 else 's'}"


def recommend(
    queue: int, spec: AutoscaleSpec, partitions: int, role: str, *, estimated: bool = False
) -> tuple[int, str]:
    """Replicas the queue asks for, within bounds, and why. ``estimated``: the queue was
    taken from offsets (too long, or too slow, to count record by record), which may
    count transaction markers too: the reason says so."""
    need = math.ceil(max(queue, 0) / spec.orders_per_replica)
    low, high = bounds(spec, partitions)
    orders = "1 order waits" if queue == 1 else f"{max(queue, 0)} orders wait"
    if estimated:
        orders = f"about {orders} (estimated from offsets)"
    said = f"{orders}, {spec.orders_per_replica} per {role}: {_plural(need, role)}"
    if need > high:
        if high < spec.max_replicas:
            return high, f"{said}, capped at the topic's {partitions} partitions"
        return high, f"{said}, capped at maxReplicas {high}"
    if need < low:
        return low, f"{said}, kept at minReplicas {low}"
    return need, said


def first_sight(start: int, spec: AutoscaleSpec, partitions: int, now: float) -> Recommendations:
    """Memory for a role seen for the first time, running ``start`` replicas: they count
    as recommended now, so nothing scales down before a whole window has passed."""
    low, high = bounds(spec, partitions)
    replicas = min(max(start, low), high)
    return Recommendations(replicas, ((now, replicas),))


def decide(
    memory: Recommendations,
    queue: int,
    partitions: int,
    spec: AutoscaleSpec,
    now: float,
    role: str = PREPARER,
    *,
    estimated: bool = False,
) -> Decision:
    """The replicas to run after a look at the queue at ``now`` (seconds, any clock);
    ``estimated``: the queue was taken from offsets, not counted."""
    recommended, reason = recommend(queue, spec, partitions, role, estimated=estimated)
    # An earlier recommendation no higher than this one can never be the window's
    # highest again (this one outlasts it), so the history stays short: at most one
    # entry per replica count, whatever the window.
    recent = [
        (when, count)
        for when, count in memory.history
        if now - when < spec.window_seconds and count > recommended
    ]
    history = (*recent, (now, recommended))
    held = max(replicas for _, replicas in history)
    current = memory.replicas
    low, high = bounds(spec, partitions)
    if recommended >= current:
        replicas = recommended
    elif held < current:
        replicas = held
    else:
        replicas = current
    # Bounds that moved (a smaller maxReplicas, say) hold at once, window or not.
    clamped = min(max(replicas, low), high)
    if clamped != replicas:
        reason = f"{reason}; bounds are now {low}..{high}"
    elif replicas > recommended:
        reason = (
            f"{reason}; {_plural(replicas, role)} kept for the {spec.window_seconds}s "
            "window before scaling down"
        )
    replicas = clamped
    last = now if replicas != current else memory.last_scale
    return Decision(
        replicas, current, recommended, reason, Recommendations(replicas, history, last)
    )
