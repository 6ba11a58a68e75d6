"""The shop's status: conditions and counts, following the Kubernetes API conventions.

Pure: what the reconciler observed goes in, the status to write comes out.
``lastTransitionTime`` only moves when a condition's status changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fishshop_operator.resource import ShopResource
from fishshop_operator.workloads import selector_string

__all__ = ["Observed", "RoleCount", "TopicsOutcome", "shop_status"]

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


@dataclass(frozen=True)
class TopicsOutcome:
    """What happened to the shop's topics in Kafka."""

    ready: bool
    reason: str
    message: str
    partitions: int | None = None
    queued_orders: int | None = None


@dataclass(frozen=True)
class RoleCount:
    replicas: int
    ready_replicas: int


@dataclass(frozen=True)
class Observed:
    """What the reconciler saw; ``roles`` maps till, preparer, cook to pod counts."""

    topics: TopicsOutcome
    roles: dict[str, RoleCount]
    workloads_error: str | None = None


def _condition(
    kind: str,
    status: str,
    reason: str,
    message: str,
    generation: int,
    previous: dict[str, dict[str, Any]],
    now: str,
) -> dict[str, Any]:
    before = previous.get(kind)
    moved = before is None or before.get("status") != status
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now if moved or not before else before.get("lastTransitionTime", now),
        "observedGeneration": generation,
    }


def _workers(shop: ShopResource, observed: Observed) -> tuple[str, str, str]:
    if observed.workloads_error:
        return FALSE, "WorkloadsNotApplied", observed.workloads_error
    if not observed.roles:
        return UNKNOWN, "WorkloadsNotCreated", "no workloads yet: they follow the topics"
    missing = [
        f"{count.ready_replicas}/{count.replicas} {role}s ready"
        for role, count in observed.roles.items()
        if count.ready_replicas < count.replicas
    ]
    if missing:
        return FALSE, "PodsNotReady", "waiting for pods: " + ", ".join(missing)
    total = sum(count.replicas for count in observed.roles.values())
    if not shop.spec.open:
        return TRUE, "ShopClosed", f"the shop is closed; {total} workers finishing the queue"
    return TRUE, "AllPodsReady", f"{total} workers ready"


def shop_status(
    shop: ShopResource,
    observed: Observed,
    previous_conditions: list[dict[str, Any]],
    now: str,
) -> dict[str, Any]:
    """The status to write for ``shop`` after a reconcile that saw ``observed``."""
    previous = {c.get("type", ""): c for c in previous_conditions if isinstance(c, dict)}
    generation = shop.generation
    topics = observed.topics
    topics_condition = _condition(
        "TopicsReady",
        TRUE if topics.ready else FALSE,
        topics.reason,
        topics.message,
        generation,
        previous,
        now,
    )
    workers_status, workers_reason, workers_message = _workers(shop, observed)
    workers_condition = _condition(
        "WorkersAvailable",
        workers_status,
        workers_reason,
        workers_message,
        generation,
        previous,
        now,
    )
    if not topics.ready:
        ready = (FALSE, topics.reason, topics.message)
    elif workers_status != TRUE:
        ready = (FALSE, workers_reason, workers_message)
    elif not shop.spec.open:
        queued = topics.queued_orders
        ready = (
            TRUE,
            "ShopClosed",
            "the shop is closed" + ("" if queued is None else f"; {queued} orders still queued"),
        )
    else:
        ready = (TRUE, "ShopOpen", "the shop is open and serving")
    ready_condition = _condition("Ready", *ready, generation, previous, now)
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "open": shop.spec.open,
        "conditions": [ready_condition, topics_condition, workers_condition],
        "topics": {
            "orders": shop.topics.orders,
            "cook": shop.topics.cook,
            "served": shop.topics.served,
            "dlq": shop.topics.dlq,
        },
    }
    if topics.partitions is not None:
        status["topics"]["partitions"] = topics.partitions
    if topics.queued_orders is not None:
        status["queuedOrders"] = topics.queued_orders
    for role, count in observed.roles.items():
        status[f"{role}s"] = {
            "replicas": count.replicas,
            "readyReplicas": count.ready_replicas,
            "selector": selector_string(shop, role),
        }
    return status
