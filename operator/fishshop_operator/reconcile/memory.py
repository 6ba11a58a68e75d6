"""What the operator remembers about one shop between reconciles. Pure.

One record per shop, so that forgetting a deleted shop is one ``pop``: its lock, its
caches, its Secrets (TLS context, credentials) and the autoscaler's state go with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fishshop_operator.analyst.decisions import AnalystMemory
from fishshop_operator.autoscale.memory import AutoscaleMemory
from fishshop_operator.kube.secret_data import HeldSecret
from fishshop_operator.shop.conditions import CabinetOutcome, RoleCount, TopicsOutcome

__all__ = ["ShopMemory"]


@dataclass
class ShopMemory:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Serialises reconciles and the deletion of this shop."""
    watched: bool = False
    """Seen by the watch, so the resync loop visits it."""
    failed_at: float | None = None
    """When its last reconcile ended in error (the event loop's clock), None once one
    succeeds: the resync loop comes back to it the operator's retry interval after
    that, not only at its next full round."""
    pending: bool = False
    """A reconcile after an event on a workload is waiting; later events join it."""
    deleting: str | None = None
    """The uid of this shop once its deletion has begun: no reconcile may act after."""
    applied: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    """(kind, name) of each applied object -> (uid, generation) last seen."""
    manifests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    """(kind, name) -> the manifest last applied for it."""
    seen: dict[tuple[str, str], tuple[tuple[str, int], RoleCount]] = field(default_factory=dict)
    """(kind, name) -> (uid, generation) and pods of the workload's last watch event."""
    topics: tuple[int, TopicsOutcome] | None = None
    """The spec generation the topics were last checked for, and what was found."""
    kept: tuple[str, bool] | None = None
    """The topic prefix whose kept-topics record (shop/kept.py) was last found absent
    or this shop's, and whether this shop's record is written: read again only when
    the prefix changes."""
    cabinet: tuple[int, CabinetOutcome] | None = None
    """The spec generation Redis was last asked for, and what it said."""
    secrets: dict[str, HeldSecret] = field(default_factory=dict)
    """The Secrets the shop names, by use, as the SecretCache last read them."""
    analyst: AnalystMemory = field(default_factory=AnalystMemory)
    """The analyst's restart backoff, restarts and where its table was made."""
    autoscale: AutoscaleMemory = field(default_factory=AutoscaleMemory)
    """What the autoscaler keeps between its looks at the shop's queues."""
