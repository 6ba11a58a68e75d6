"""A shop's deletion: its analyst's connector, then (unless retained) its topics and
its hot cabinet's keys in Redis.

Retried for a bounded time; it never blocks the shop's deletion for good.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fishshop_operator.analyst.connector import placed_connector
from fishshop_operator.cabinet.check import empty_cabinet
from fishshop_operator.kafka.topics import (
    KafkaUnreachable,
    TopicDeletionError,
    delete_shop_topics,
)
from fishshop_operator.kube.api import KubeApiError, object_path
from fishshop_operator.kube.secrets import KAFKA_SECRET_ERRORS
from fishshop_operator.reconcile.analyst import analyst_shop, remove_connector
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.tools import Tools, ids, post_event
from fishshop_operator.reconcile.topics import kept_record, prefix_owner
from fishshop_operator.shop.kept import kept_keeper, kept_name
from fishshop_operator.shop.resource import ShopResource, read_resource
from fishshop_workers.errors import FishshopError, remote_text
from fishshop_workers.shop.spec import ShopSpecError
from fishshop_workers.shop.topics import prefix_of_namespace

__all__ = ["delete_shop"]

log = logging.getLogger("fishshop_operator")


async def delete_shop(tools: Tools, body: dict[str, Any], memory: ShopMemory) -> None:
    """Delete what goes with the shop; the caller holds the shop's lock.

    Only topics the shop owns: a shop refused its prefix (another, older shop uses
    it) leaves them to their owner.
    """
    try:
        shop = read_resource(body)
    except ShopSpecError as error:
        # Never act on names that did not pass: nothing was made for them.
        await post_event(
            tools,
            body,
            "Warning",
            "TopicsNotDeleted",
            f"the shop's spec is invalid ({error}), so no topics were deleted; "
            "delete by hand any that an older operator made for it",
        )
        return
    await _delete_analyst(tools, body, shop)
    if shop.deletes_topics:
        await _delete_topics(tools, body, shop, memory)


async def _delete_analyst(tools: Tools, body: dict[str, Any], shop: ShopResource) -> None:
    """The shop's sink connector goes with the shop, wherever it was last put.

    One try: a Connect that is down must not keep the shop from being deleted;
    the event says which connector to delete by hand.
    """
    where = {placed_connector(body.get("status"))}
    if shop.analyst is not None:
        where.add((shop.analyst.connect_url, analyst_shop(shop).connector))
    for connect_url, connector in sorted(w for w in where if w is not None):
        await remove_connector(tools, body, shop, connect_url, connector)


async def _keep_topics(tools: Tools, body: dict[str, Any], shop: ShopResource, why: str) -> None:
    message = f"the topics {shop.topic_prefix}.* {why}; they were left in place"
    await post_event(tools, body, "Normal", "TopicsKept", message)
    log.info("action=keep-topics shop=%s/%s %s", *ids(shop), message)


async def _delete_topics(
    tools: Tools, body: dict[str, Any], shop: ShopResource, memory: ShopMemory
) -> None:
    if not tools.any_prefix and not prefix_of_namespace(shop.topic_prefix, shop.namespace):
        await _keep_topics(
            tools, body, shop, "are not this namespace's (the shop was refused them)"
        )
        return
    deadline = time.monotonic() + tools.delete_patience
    delay = 1.0
    while True:
        try:
            owner = await prefix_owner(tools, body, shop)
            if owner is not None:
                await _keep_topics(tools, body, shop, f"belong to shop {owner}")
                return
            # Read now, not from memory: another shop may have taken the prefix meanwhile.
            record = await kept_record(tools, shop)
            keeper = kept_keeper(record, shop)
            if keeper is not None:
                why = f"are kept for shop {shop.namespace}/{keeper}"
                await _keep_topics(tools, body, shop, why)
                return
            settings = await tools.shops.secrets.kafka_settings(shop, memory.secrets)
            deleted = await delete_shop_topics(settings, shop)
        except (
            KafkaUnreachable,
            TopicDeletionError,
            KubeApiError,
            *KAFKA_SECRET_ERRORS,
        ) as error:
            if time.monotonic() + delay > deadline:
                message = (
                    f"gave up deleting topics {shop.topic_prefix}.* after "
                    f"{tools.delete_patience:.0f}s: {error}. Delete them by hand."
                )
                await post_event(tools, body, "Warning", "TopicsNotDeleted", message)
                log.warning("action=delete-topics shop=%s/%s %s", *ids(shop), message)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        log.info(
            "action=delete-topics shop=%s/%s prefix=%s deleted=%s",
            *ids(shop),
            shop.topic_prefix,
            ",".join(deleted) or "none",
        )
        await _forget_record(tools, shop, record)
        await _empty_cabinet(tools, body, shop, memory)
        return


async def _forget_record(tools: Tools, shop: ShopResource, record: dict[str, Any] | None) -> None:
    """The topics are gone: so is this shop's record that they were kept for it, as it
    was read (a record that changed since is another shop's now). One try: the topics
    are what mattered."""
    if record is None:
        return
    version = str((record.get("metadata") or {}).get("resourceVersion") or "")
    path = object_path("v1", "ConfigMap", shop.namespace, kept_name(shop.topic_prefix))
    try:
        await tools.api.delete(path, version or None)
    except KubeApiError as error:
        log.warning("action=forget-kept-topics shop=%s/%s error=%s", *ids(shop), error)


async def _empty_cabinet(
    tools: Tools, body: dict[str, Any], shop: ShopResource, memory: ShopMemory
) -> None:
    """The cabinet's keys go with the topics they decided (the same owner). One try: a
    Redis that is down must not keep the shop from being deleted; the event says so."""
    if shop.hot_cabinet is None:
        return
    try:
        credentials = await tools.shops.secrets.redis_credentials(shop, memory.secrets)
        removed = await empty_cabinet(shop.hot_cabinet, shop.topic_prefix, credentials)
    except (FishshopError, KubeApiError, ValueError, OSError) as error:
        message = (
            f"the hot cabinet's keys {{{shop.topic_prefix}}}:cabinet:* were not deleted: "
            f"{remote_text(error)}. Delete them by hand"
        )
        await post_event(tools, body, "Warning", "CabinetNotEmptied", message)
        log.warning("action=empty-cabinet shop=%s/%s %s", *ids(shop), message)
        return
    log.info("action=empty-cabinet shop=%s/%s keys=%d", *ids(shop), removed)
