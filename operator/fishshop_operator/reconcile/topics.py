"""The topics step of a reconcile: prefix owner, Kafka TLS, topics made or grown, queues.

The queues are counted after the workloads are applied, so a change reaches them first.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from fishshop_operator.constants import API_VERSION, KIND
from fishshop_operator.kafka.topics import (
    KafkaUnreachable,
    queue_state,
    reconcile_topics,
)
from fishshop_operator.kube.api import KubeApiError, object_path
from fishshop_operator.kube.secrets import KAFKA_SECRET_ERRORS, held_tls
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.tools import Tools, ids
from fishshop_operator.shop.conditions import TopicsOutcome
from fishshop_operator.shop.kept import (
    KEPT_REASON,
    kept_keeper,
    kept_manifest,
    kept_message,
    kept_name,
)
from fishshop_operator.shop.resource import ShopResource
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import prefix_of_namespace

__all__ = ["count_queues", "kept_for", "kept_record", "prefix_owner", "topics_outcome"]

log = logging.getLogger("fishshop_operator")


async def topics_outcome(
    tools: Tools, body: dict[str, Any], shop: ShopResource, memory: ShopMemory
) -> tuple[TopicsOutcome, KafkaSettings | None]:
    """The topics' outcome, and the Kafka settings used when Kafka was asked."""
    prefix = shop.topic_prefix
    if not tools.any_prefix and not prefix_of_namespace(prefix, shop.namespace):
        return TopicsOutcome(
            False,
            "TopicPrefixOfAnotherNamespace",
            f"spec.topicPrefix {prefix!r} does not start with this shop's namespace: "
            f"use {shop.namespace}.<something>, or leave it out for "
            f"fishshop.{shop.namespace}.{shop.name} (the operator's --topic-prefixes any "
            "allows any prefix)",
        ), None
    owner = await prefix_owner(tools, body, shop)
    if owner is not None:
        return TopicsOutcome(
            False,
            "TopicsOwnedByAnotherShop",
            f"the topics {shop.topic_prefix}.* belong to shop {owner}; "
            "set spec.topicPrefix to a prefix of this shop's own",
        ), None
    keeper = await kept_for(tools, shop, memory)
    if keeper is not None:
        return TopicsOutcome(False, KEPT_REASON, kept_message(shop, keeper)), None
    try:
        settings = await tools.shops.secrets.kafka_settings(shop, memory.secrets)
    except KAFKA_SECRET_ERRORS as error:
        return TopicsOutcome(False, error.reason, str(error)), None
    outcome = await reconcile_topics(settings, shop, clients=tools.shops.kafka)
    if outcome.ready and outcome.message.startswith(("created", "grew")):
        log.info("action=topics shop=%s/%s %s", shop.namespace, shop.name, outcome.message)
    if outcome.ready and not shop.deletes_topics:
        await _keep_record(tools, shop, memory)
    tls = held_tls(memory.secrets)
    if shop.tls_secret and tls is not None:
        # Which of the layouts the Secret was read as (kafka/tls.py, LAYOUTS).
        used = f"TLS from Secret {shop.tls_secret} as {tls.described}"
        outcome = dataclasses.replace(outcome, message=f"{outcome.message}; {used}")
    return outcome, settings


async def kept_record(tools: Tools, shop: ShopResource) -> dict[str, Any] | None:
    """The record of whose the shop's prefix's kept topics are, read now (shop/kept.py)."""
    path = object_path("v1", "ConfigMap", shop.namespace, kept_name(shop.topic_prefix))
    return await tools.api.get(path)


async def kept_for(tools: Tools, shop: ShopResource, memory: ShopMemory) -> str | None:
    """The shop (its name, in this namespace) whose retained topics this shop's prefix
    names, if another one's (shop/kept.py); read once per prefix while none is found."""
    if memory.kept is not None and memory.kept[0] == shop.topic_prefix:
        return None
    keeper = kept_keeper(await kept_record(tools, shop), shop)
    if keeper is None:
        memory.kept = (shop.topic_prefix, False)
    return keeper


async def _keep_record(tools: Tools, shop: ShopResource, memory: ShopMemory) -> None:
    """A retained shop's record that it keeps its prefix, applied at every look at
    Kafka (server-side apply: the same record changes nothing), so a record another
    shop's deletion took away comes back. Not written, it is tried at the next look;
    the topics stay ready.
    """
    try:
        await tools.api.apply(kept_manifest(shop))
    except KubeApiError as error:
        log.warning("action=keep-topics shop=%s/%s error=%s", *ids(shop), error)
        return
    if memory.kept == (shop.topic_prefix, True):
        return  # said once
    memory.kept = (shop.topic_prefix, True)
    log.info(
        "action=keep-topics shop=%s/%s prefix=%s record=%s",
        *ids(shop),
        shop.topic_prefix,
        kept_name(shop.topic_prefix),
    )


async def prefix_owner(tools: Tools, body: dict[str, Any], shop: ShopResource) -> str | None:
    """The shop that keeps this shop's topic prefix, if another one does.

    Read from the index, not from a list of every shop. An owner found there is
    read once more, since a watch that relists never says DELETED for a shop that
    went meanwhile: only a shop that still exists may keep the topics.
    """
    tied = not tools.any_prefix
    while (owner := tools.index.owner(body, shop.topic_prefix, tied=tied)) is not None:
        found = await tools.api.get(object_path(API_VERSION, KIND, owner.namespace, owner.name))
        uid = ((found or {}).get("metadata") or {}).get("uid")
        if uid != owner.uid:
            tools.index.discard(owner.uid)
        if found is not None:
            tools.index.put(found)  # as it is now: being deleted, or a new shop
        if uid == owner.uid and tools.index.owner(body, shop.topic_prefix, tied=tied) == owner:
            return owner.ref
    return None


async def count_queues(
    tools: Tools, shop: ShopResource, settings: KafkaSettings, topics: TopicsOutcome
) -> TopicsOutcome:
    """After the workloads (so a change reaches them first): partitions and queues."""
    try:
        state = await queue_state(settings, shop, clients=tools.shops.kafka)
    except KafkaUnreachable as error:
        log.warning("action=count-queue shop=%s/%s error=%s", *ids(shop), error)
        return topics
    return dataclasses.replace(
        topics,
        partitions=state.partitions,
        queued_orders=state.queued_orders,
        queued_for_cook=state.queued_for_cook,
    )
