"""What the autoscaler remembers about one shop between looks. Pure.

Part of the shop's ShopMemory, so it is forgotten with the shop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fishshop_operator.autoscale.decisions import Recommendations
from fishshop_operator.shop.resource import ShopResource

__all__ = ["AutoscaleMemory", "AutoscaledShop"]


@dataclass
class AutoscaledShop:
    """One shop whose preparers or cooks autoscale."""

    shop: ShopResource
    """The shop as last reconciled: which roles autoscale, and their bounds."""
    roles: dict[str, Recommendations] = field(default_factory=dict)
    scaled_at: dict[str, str] = field(default_factory=dict)
    """Role -> when its replicas last changed (wall clock, for the status)."""
    applied: dict[str, int] = field(default_factory=dict)
    """Role -> replicas its workload had in the last reconcile that the autoscaler
    asked for and that applied it: a decision that differs is applied (again)."""
    partitions: int | None = None
    """Partitions of the orders topic as Kafka last said (the cook topic has as many)."""
    written: dict[str, Any] | None = None
    """The status last written, so an unchanged one is not written again."""


@dataclass
class AutoscaleMemory:
    watched: AutoscaledShop | None = None
    """Set while the shop's preparers or cooks autoscale; a new one for a new shop of
    the same name."""
    stale: set[str] = field(default_factory=set)
    """Roles whose autoscale the spec turned off while the status still shows it."""
    looking: asyncio.Task[None] | None = field(default=None, repr=False)
    """The look at the shop's queues under way, if any."""
