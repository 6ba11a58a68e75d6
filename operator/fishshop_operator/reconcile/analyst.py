"""The analyst step of a reconcile: the sink connector put, restarted, moved or deleted."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from fishshop_operator.analyst.connector import (
    AnalystShop,
    ConnectError,
    delete_connector,
    placed_connector,
    reconcile_analyst,
)
from fishshop_operator.analyst.decisions import AnalystMemory, AnalystOutcome
from fishshop_operator.analyst.spec import AnalystSpec, PostgresSecretError
from fishshop_operator.analyst.status import previous_analyst
from fishshop_operator.kafka.topics import KafkaUnreachable, kafka_cluster_id
from fishshop_operator.kube.secrets import KAFKA_SECRET_ERRORS, POSTGRES
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.tools import Tools, ids, post_event
from fishshop_operator.shop.conditions import TopicsOutcome
from fishshop_operator.shop.resource import ShopResource

__all__ = ["analyst_outcome", "analyst_shop", "remove_connector"]

log = logging.getLogger("fishshop_operator")


def analyst_shop(shop: ShopResource) -> AnalystShop:
    return AnalystShop(shop.label, shop.topic_prefix, shop.topics.served)


async def analyst_outcome(
    tools: Tools,
    body: dict[str, Any],
    shop: ShopResource,
    memory: ShopMemory,
    topics: TopicsOutcome,
    check: bool,
) -> AnalystOutcome | None:
    """The analyst's sink connector put where the spec says, and how it runs; None
    for a shop without one (after its connector, if it had one, is deleted).

    Like the cabinet, a connector found running for this generation of the spec is
    not asked about again after each event on a workload; the resync loop asks.
    """
    spec = shop.analyst
    placed = placed_connector(body.get("status"))
    remembered = memory.analyst
    if remembered.restarts is None:
        remembered.restarts = previous_analyst(body.get("status"))[2]
    if placed is not None and (spec is None or placed[0] != spec.connect_url):
        # The spec took the analyst away or moved it to another Connect.
        gone = await remove_connector(tools, body, shop, *placed)
        if spec is None and not gone:
            # The status keeps the place until the connector there is gone, so
            # that a later reconcile (or a restarted operator) tries again.
            return AnalystOutcome(
                False,
                "ConnectorNotDeleted",
                f"spec.analyst was removed, but connector {placed[1]} at {placed[0]} "
                "could not be deleted yet; the operator tries again",
                placed[1],
                placed[0],
            )
        # Moved to another Connect: the shop's analyst follows the spec at once. An
        # old Connect that cannot be reached keeps its connector; the Warning event
        # (ConnectorNotDeleted) says where, for a person to delete it.
    if spec is None:
        memory.analyst = AnalystMemory()
        memory.secrets.pop(POSTGRES, None)
        tools.metrics.forget_analyst(shop.namespace, shop.name)
        return None
    ours = analyst_shop(shop)
    seen = remembered.seen
    if not check and seen is not None and seen[0] == shop.generation and seen[1].ready:
        return seen[1]
    if not topics.ready:
        # Its name comes from the topics' prefix: never before the shop owns it.
        outcome = AnalystOutcome(
            False,
            "WaitingForTopics",
            "the sink connector follows the shop's topics",
            ours.connector,
            spec.connect_url,
            restarts=remembered.restarts or 0,
        )
    else:
        outcome = await _put_connector(tools, shop, spec, ours, memory)
    before = seen[1] if seen is not None else None
    if before is None or (before.ready, before.reason) != (outcome.ready, outcome.reason):
        log.info(
            "action=analyst shop=%s/%s ready=%s reason=%s message=%r",
            *ids(shop),
            outcome.ready,
            outcome.reason,
            outcome.message,
        )
        if before is not None or not outcome.ready:
            kind = "Normal" if outcome.ready else "Warning"
            await post_event(tools, body, kind, f"Analyst{outcome.reason}", outcome.message)
    remembered.seen = (shop.generation, outcome)
    tools.metrics.analyst_failed_tasks.labels(shop.namespace, shop.name).set(outcome.failed_tasks)
    return outcome


async def _put_connector(
    tools: Tools, shop: ShopResource, spec: AnalystSpec, ours: AnalystShop, memory: ShopMemory
) -> AnalystOutcome:
    """Read the PostgreSQL Secret (of the shop's own namespace), then the connector."""
    restarts = memory.analyst.restarts or 0
    try:
        settings = await tools.shops.secrets.kafka_settings(shop, memory.secrets)
        cluster = await kafka_cluster_id(settings, shop, tools.shops.kafka)
    except (KafkaUnreachable, *KAFKA_SECRET_ERRORS) as error:
        return AnalystOutcome(
            False, error.reason, str(error), ours.connector, spec.connect_url, restarts=restarts
        )
    ours = dataclasses.replace(ours, kafka_cluster=cluster)
    try:
        address = await tools.shops.secrets.postgres(shop, memory.secrets)
    except PostgresSecretError as error:
        reason = "SecretMissing" if error.missing else "SecretInvalid"
        return AnalystOutcome(
            False, reason, str(error), ours.connector, spec.connect_url, restarts=restarts
        )
    outcome, restarted = await reconcile_analyst(
        spec, ours, address, memory.analyst, now=time.monotonic()
    )
    if restarted:
        tools.metrics.analyst_task_restarts.labels(shop.namespace, shop.name).inc(restarted)
    return outcome


async def remove_connector(
    tools: Tools, body: dict[str, Any], shop: ShopResource, connect_url: str, connector: str
) -> bool:
    """Delete the shop's connector there; False (and an event) when Connect failed."""
    try:
        done = await delete_connector(connect_url, connector, shop.label)
    except ConnectError as error:
        message = f"connector {connector} at {connect_url} was not deleted: {error}"
        log.warning("action=delete-connector shop=%s/%s %s", *ids(shop), message)
        await post_event(tools, body, "Warning", "ConnectorNotDeleted", message)
        return False
    log.info("action=delete-connector shop=%s/%s %s", *ids(shop), done)
    return True
