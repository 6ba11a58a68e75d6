"""What the operator remembers about one shop between reconciles.

One record per shop, so that forgetting a deleted shop is one ``pop``: its lock, its
caches, its TLS context and its Redis credentials go with it.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Any

from fishshop_operator.analyst.decisions import AnalystMemory
from fishshop_operator.cabinet.credentials import RedisCredentials
from fishshop_operator.shop.conditions import CabinetOutcome, RoleCount, TopicsOutcome

__all__ = ["ShopMemory"]


@dataclass
class ShopMemory:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Serialises reconciles and the deletion of this shop."""
    watched: bool = False
    """Seen by the watch, so the resync loop visits it."""
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
    tls: tuple[tuple[str, str], ssl.SSLContext] | None = field(default=None, repr=False)
    """The TLS Secret's (uid, resourceVersion) and the context built from it."""
    cabinet: tuple[int, CabinetOutcome] | None = None
    """The spec generation Redis was last asked for, and what it said."""
    redis_credentials: tuple[tuple[str, str], RedisCredentials] | None = field(
        default=None, repr=False
    )
    """The credentials Secret's (uid, resourceVersion) and what it holds, in memory."""
    analyst: AnalystMemory = field(default_factory=AnalystMemory)
    """The analyst's restart backoff, restarts and where its table was made."""
