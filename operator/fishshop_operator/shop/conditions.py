"""The shop's status: conditions and counts, following the Kubernetes API conventions.

Pure: what the reconciler observed goes in, the status to write comes out.
``lastTransitionTime`` only moves when a condition's status changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fishshop_operator.shop.resource import ShopResource
from fishshop_operator.shop.workloads import selector_string

__all__ = ["CabinetOutcome", "Observed", "RoleCount", "TopicsOutcome", "shop_status"]

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


@dataclass(frozen=True)
class TopicsOutcome:
    """What happened to the shop's topics in Kafka."""

    ready: bool
    reason: str
    message: str
    partitions: int | None = None
    queued_orders: int | None = None
    """Orders taken but not yet picked up by a preparer."""
    queued_for_cook: int | None = None
    """Plaice orders in the cook topic not yet picked up by a cook."""


@dataclass(frozen=True)
class CabinetOutcome:
    """Whether the hot cabinet's Redis answered the operator."""

    ready: bool
    reason: str
    """CabinetReady, RedisUnreachable, RedisAuthenticationFailed or CredentialsSecretInvalid."""
    message: str


@dataclass(frozen=True)
class RoleCount:
    """A workload's pods, as its controller last reported them."""

    replicas: int
    """Pods the spec asks for."""
    ready_replicas: int
    updated_replicas: int
    """Pods that run the workload's current pod template."""
    running_replicas: int
    """Pods of any template that still run (``status.replicas``)."""
    generation: int
    observed_generation: int
    """The generation the workload's controller has acted on."""


@dataclass(frozen=True)
class Observed:
    """What the reconciler saw; ``roles`` maps till, preparer, cook to pod counts."""

    topics: TopicsOutcome
    roles: dict[str, RoleCount]
    workloads_error: str | None = None
    cabinet: CabinetOutcome | None = None
    """What Redis said, for a shop with a hot cabinet; None for a shop without."""


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


def _rollout(role: str, count: RoleCount) -> str | None:
    """What keeps a workload from running its current template everywhere, if anything."""
    if count.observed_generation < count.generation:
        return (
            f"the {role}s' controller has not acted on generation {count.generation} yet "
            f"(it has seen {count.observed_generation})"
        )
    if count.updated_replicas < count.replicas:
        return f"{count.updated_replicas}/{count.replicas} {role}s updated"
    old = count.running_replicas - count.updated_replicas
    if old > 0:
        return f"{old} old {role}{'s' if old > 1 else ''} still running"
    return None


def _workers(shop: ShopResource, observed: Observed) -> tuple[str, str, str]:
    if observed.workloads_error:
        return FALSE, "WorkloadsNotApplied", observed.workloads_error
    if not observed.roles:
        return UNKNOWN, "WorkloadsNotCreated", "no workloads yet: they follow the topics"
    rolling = [text for role, count in observed.roles.items() if (text := _rollout(role, count))]
    if rolling:
        return FALSE, "RolloutInProgress", "rolling out: " + ", ".join(rolling)
    missing = [
        f"{count.ready_replicas}/{count.replicas} {role}s ready"
        for role, count in observed.roles.items()
        if count.ready_replicas < count.replicas
    ]
    if missing:
        return FALSE, "PodsNotReady", "waiting for pods: " + ", ".join(missing)
    for_cook = observed.topics.queued_for_cook
    if shop.spec.cooks.replicas == 0 and for_cook:
        orders = "1 order waits" if for_cook == 1 else f"{for_cook} orders wait"
        return FALSE, "NoCook", f"{orders} for a cook; scale spec.cooks.replicas"
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
    conditions = [topics_condition, workers_condition]
    cabinet = observed.cabinet if shop.hot_cabinet is not None else None
    if shop.hot_cabinet is not None:
        if cabinet is None:  # not asked yet: say so rather than guess
            cabinet = CabinetOutcome(False, "CabinetNotChecked", "Redis has not been asked yet")
        conditions.append(
            _condition(
                "CabinetReady",
                TRUE if cabinet.ready else FALSE,
                cabinet.reason,
                cabinet.message,
                generation,
                previous,
                now,
            )
        )
    if not topics.ready:
        ready = (FALSE, topics.reason, topics.message)
    elif cabinet is not None and not cabinet.ready:
        # Before the workers: pods that wait for Redis are a symptom, this is the cause.
        ready = (FALSE, cabinet.reason, cabinet.message)
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
        "conditions": [ready_condition, *conditions],
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
    if topics.queued_for_cook is not None:
        status["queuedForCook"] = topics.queued_for_cook
    for role, count in observed.roles.items():
        status[f"{role}s"] = {
            "replicas": count.replicas,
            "readyReplicas": count.ready_replicas,
            "updatedReplicas": count.updated_replicas,
            "selector": selector_string(shop, role),
        }
    return status
