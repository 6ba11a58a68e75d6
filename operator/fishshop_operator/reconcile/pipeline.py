"""One reconcile of one shop, step by step, then its status, metrics and events.

Topics, hot cabinet, workloads, queues, analyst; then what was observed is written.
Level-based and idempotent: a missed event, a deleted workload, a hand edit or a
restarted operator all converge the same way. The caller (the Reconciler) holds the
shop's lock. Design: docs/design/operator.md, "pipeline.py".
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fishshop_operator.analyst.status import add_analyst
from fishshop_operator.kube.api import KubeApiError
from fishshop_operator.reconcile.analyst import analyst_outcome
from fishshop_operator.reconcile.cabinet import cabinet_outcome, redis_ca
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.tools import Tools, now, post_event
from fishshop_operator.reconcile.topics import count_queues, topics_outcome
from fishshop_operator.reconcile.workloads import apply_workloads, read_workloads
from fishshop_operator.shop.conditions import Observed, RoleCount, shop_status
from fishshop_operator.shop.resource import ShopResource, read_resource
from fishshop_operator.shop.status_patch import changes
from fishshop_workers.shop.spec import ShopSpecError

__all__ = ["DELETING", "Outcome", "reconcile_shop"]

log = logging.getLogger("fishshop_operator")


@dataclass
class Outcome:
    result: str
    """ready, waiting or error (the metric's label); deleting when nothing was done."""
    reason: str
    replicas: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Role -> replicas of its workload as the API server returned it (applied, or read
    while the topics are not ready); empty when the apply failed. The autoscaler asks
    again while a decision is not there."""


DELETING = Outcome("deleting", "Deleting")
"""A reconcile that found the shop's deletion begun, and so did nothing."""


async def reconcile_shop(
    tools: Tools, body: dict[str, Any], memory: ShopMemory, check_kafka: bool
) -> Outcome:
    """Bring the shop to what its spec asks for and write what was observed.

    Without ``check_kafka``, topics (and a cabinet, an analyst) already found ready for
    this generation of the spec are not asked about again.
    """
    previous = (body.get("status") or {}).get("conditions") or []
    try:
        shop = read_resource(body)
    except ShopSpecError as error:
        return await _invalid(tools, body, str(error))
    seen = memory.topics
    settings = None
    if not check_kafka and seen is not None and seen[0] == shop.generation and seen[1].ready:
        topics = seen[1]
    else:
        topics, settings = await topics_outcome(tools, body, shop, memory)
    cabinet = await cabinet_outcome(tools, shop, memory, check_kafka)
    roles: dict[str, RoleCount] = {}
    workloads_error = None
    if topics.ready:
        try:
            roles = await apply_workloads(
                tools, shop, memory, redis_ca=redis_ca(memory), every=check_kafka
            )
        except KubeApiError as error:
            workloads_error = str(error)
        if settings is not None and topics.queued_orders is None:
            # Kafka was asked this time (and the topics were not just made, empty):
            # count the queues too.
            topics = await count_queues(tools, shop, settings, topics)
    else:
        roles = await read_workloads(tools, shop)
    memory.topics = (shop.generation, topics)
    analyst = await analyst_outcome(tools, body, shop, memory, topics, check_kafka)
    observed = Observed(topics, roles, workloads_error, cabinet)
    when = now()
    status = shop_status(shop, observed, previous, when)
    status = add_analyst(status, analyst, previous, generation=shop.generation, now=when)
    if changes(body.get("status"), status):
        await tools.api.patch_status(shop.namespace, shop.name, status)
    ready = status["conditions"][0]
    metrics = tools.metrics
    metrics.shop_ready.labels(shop.namespace, shop.name).set(ready["status"] == "True")
    if topics.queued_orders is not None:
        metrics.shop_queued.labels(shop.namespace, shop.name).set(topics.queued_orders)
    if topics.queued_for_cook is not None:
        metrics.shop_queued_for_cook.labels(shop.namespace, shop.name).set(topics.queued_for_cook)
    await _announce(tools, body, shop, previous, ready)
    if ready["status"] == "True":
        result = "ready"
    elif topics.ready and not workloads_error and (cabinet is None or cabinet.ready):
        result = "waiting"
    else:
        result = "error"
    return Outcome(result, ready["reason"], {r: c.replicas for r, c in roles.items()})


async def _invalid(tools: Tools, body: dict[str, Any], message: str) -> Outcome:
    meta = body["metadata"]
    condition = {
        "type": "Ready",
        "status": "False",
        "reason": "InvalidSpec",
        "message": message,
        "lastTransitionTime": now(),
        "observedGeneration": int(meta.get("generation") or 0),
    }
    await tools.api.patch_status(meta["namespace"], meta["name"], {"conditions": [condition]})
    await post_event(tools, body, "Warning", "InvalidSpec", message)
    return Outcome("error", "InvalidSpec")


async def _announce(
    tools: Tools,
    body: dict[str, Any],
    shop: ShopResource,
    previous: list[dict[str, Any]],
    ready: dict[str, Any],
) -> None:
    """An event and a log line when the shop's readiness or its reason changes."""
    before = next((c for c in previous if c.get("type") == "Ready"), {})
    if (before.get("status"), before.get("reason")) == (ready["status"], ready["reason"]):
        return
    kind = "Normal" if ready["status"] == "True" else "Warning"
    await post_event(tools, body, kind, ready["reason"], ready["message"])
    log.info(
        "action=status shop=%s/%s ready=%s reason=%s message=%r",
        shop.namespace,
        shop.name,
        ready["status"],
        ready["reason"],
        ready["message"],
    )
