"""How a shop asks for its preparers and cooks to follow the queue. Pure.

``spec.preparers.autoscale`` and ``spec.cooks.autoscale`` turn it on for that role:
the operator then sets the role's replicas from the queue, between ``minReplicas``
and ``maxReplicas``, one replica for every ``ordersPerPreparer`` (``ordersPerCook``)
orders waiting. The CRD refuses a bad section with the same words; the operator
checks again because a CRD can be older than the operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fishshop_workers.shop.roles import COOK, PREPARER
from fishshop_workers.shop.spec import ShopSpecError

__all__ = [
    "AUTOSCALED_ROLES",
    "DEFAULT_WINDOW",
    "AutoscaleSpec",
    "read_autoscale",
    "read_decided_replicas",
]

DEFAULT_WINDOW = 60
"""Seconds a scale-down waits for (the HPA's default stabilisation window for scaling down)."""
MAX_WINDOW = 3600
MAX_ORDERS_PER_REPLICA = 100_000


@dataclass(frozen=True)
class _Role:
    section: str
    """The spec's section: preparers or cooks."""
    per_replica: str
    """The CRD's name for orders per replica."""
    lowest_min: int
    highest_max: int
    default_per_replica: int


AUTOSCALED_ROLES: Mapping[str, _Role] = {
    # A shop may leave its preparers at zero while nothing waits; a shop with plaice
    # on the menu keeps a cook (with none, plaice is off the menu).
    PREPARER: _Role("preparers", "ordersPerPreparer", 0, 100, 10),
    COOK: _Role("cooks", "ordersPerCook", 1, 20, 5),
}
"""Role (as workloads name it) -> where its autoscale lives and its limits."""


@dataclass(frozen=True)
class AutoscaleSpec:
    """What a role's autoscale asks for."""

    min_replicas: int
    max_replicas: int
    orders_per_replica: int
    """One replica for every this many orders waiting (rounded up)."""
    window_seconds: int = DEFAULT_WINDOW
    """How long the highest recommendation holds before replicas go down."""


def _whole(
    section: Mapping[str, Any], key: str, default: int | None, where: str, low: int, high: int
) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ShopSpecError(
            f"{where}.{key} must be a whole number from {low} to {high}, not {value!r}"
        )
    return value


def read_autoscale(spec: Mapping[str, Any], role: str) -> AutoscaleSpec | None:
    """The autoscale that ``spec`` asks for ``role`` (preparer or cook), None for none;
    raises ShopSpecError."""
    limits = AUTOSCALED_ROLES[role]
    section = (spec.get(limits.section) or {}).get("autoscale")
    if section is None:
        return None
    where = f"spec.{limits.section}.autoscale"
    if not isinstance(section, Mapping):
        raise ShopSpecError(f"{where} must be a mapping with at least maxReplicas")
    if "maxReplicas" not in section:
        raise ShopSpecError(f"{where}.maxReplicas is required: the most {role}s to run")
    low = _whole(section, "minReplicas", 1, where, limits.lowest_min, limits.highest_max)
    high = _whole(section, "maxReplicas", None, where, 1, limits.highest_max)
    if low > high:
        raise ShopSpecError(f"{where}.minReplicas ({low}) must not be above maxReplicas ({high})")
    per = _whole(
        section,
        limits.per_replica,
        limits.default_per_replica,
        where,
        1,
        MAX_ORDERS_PER_REPLICA,
    )
    window = _whole(section, "stabilizationWindowSeconds", DEFAULT_WINDOW, where, 0, MAX_WINDOW)
    return AutoscaleSpec(low, high, per, window)


def read_decided_replicas(status: Mapping[str, Any] | None) -> dict[str, int]:
    """Role -> replicas the operator last decided, as its status says (so a restarted
    operator starts from them instead of going back to spec.<role>s.replicas)."""
    decided: dict[str, int] = {}
    for role, limits in AUTOSCALED_ROLES.items():
        section = ((status or {}).get(limits.section) or {}).get("autoscale") or {}
        value = section.get("desiredReplicas") if isinstance(section, Mapping) else None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            decided[role] = value
    return decided
