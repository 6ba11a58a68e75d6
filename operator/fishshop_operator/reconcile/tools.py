"""What every step of a reconcile works with (the Reconciler provides it), and events."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from fishshop_operator.kube.api import KubeApi, KubeApiError
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.shops import ShopMemories
from fishshop_operator.shop.index import ShopIndex
from fishshop_operator.shop.resource import ShopResource

__all__ = ["Tools", "WorkloadReplicas", "ids", "now", "post_event"]

log = logging.getLogger("fishshop_operator")

WorkloadReplicas = Callable[[ShopResource, ShopMemory], Mapping[str, int]]
"""Role -> replicas the autoscaler decided for a shop, which win over its spec."""


class Tools(Protocol):
    """The operator's connections and what it holds, as the steps see them."""

    api: KubeApi
    image: str
    """The image the shop's pods run."""
    metrics: OperatorMetrics
    shops: ShopMemories
    """Every shop's memory, the Kafka client pool and the Secret cache."""
    index: ShopIndex
    """Every shop the watch has shown, by topic prefix: who owns which topics."""
    any_prefix: bool
    """A shop may choose any topic prefix, not only one of its namespace's."""
    delete_patience: float
    """Seconds to keep trying to delete a shop's topics."""
    workload_replicas: WorkloadReplicas | None


def now() -> str:
    """The time for a status or an event (whole seconds, UTC)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(shop: ShopResource) -> tuple[str, str]:
    return shop.namespace, shop.name


async def post_event(
    tools: Tools, body: dict[str, Any], kind: str, reason: str, message: str
) -> None:
    """An event on the shop; failing to post one never fails a reconcile."""
    try:
        await tools.api.event(body, kind, reason, message)
    except (KubeApiError, OSError) as error:
        log.warning("action=event reason=%s error=%s", reason, error)
