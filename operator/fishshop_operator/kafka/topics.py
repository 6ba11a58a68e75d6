"""The operator's Kafka calls for one shop: topics, queue length, deletion.

Every call is bounded in time, so an unreachable Kafka becomes a clear
``KafkaUnreachable`` for the status instead of a reconcile that hangs.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from fishshop_operator.kafka.clients import KafkaClients
from fishshop_operator.shop.conditions import TopicsOutcome
from fishshop_operator.shop.resource import ShopResource
from fishshop_workers.analyst.sink import analyst_dead_letter_topic
from fishshop_workers.errors import ServiceError
from fishshop_workers.kafka.admin import (
    TopicCreationError,
    TopicDeletionError,
    delete_topics,
    ensure_topics,
)
from fishshop_workers.kafka.queues import committed_offsets, count_waiting, topic_partitions, total
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import (
    PartitionDecreaseError,
    TopicPlan,
    desired_partitions,
    plan_topics,
)

__all__ = [
    "KafkaUnreachable",
    "QueueState",
    "ShopKafkaSettings",
    "TopicDeletionError",
    "delete_shop_topics",
    "kafka_cluster_id",
    "queue_state",
    "reconcile_topics",
    "shop_settings",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUT = 20.0
"""Seconds any one of these calls may take before Kafka counts as unreachable."""


class KafkaUnreachable(ServiceError, RuntimeError):
    """Kafka did not answer in time or refused; the status says which address."""

    retriable = True


@dataclass(frozen=True)
class ShopKafkaSettings(KafkaSettings):
    """A shop's connection settings with a TLS context the operator holds in memory.

    Workers read certificates from a mounted folder; the operator builds the context
    from the shop's Secret instead, so no Secret is ever written to its disk.
    """

    tls: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @property
    def security_protocol(self) -> str:
        return "SSL" if self.tls is not None else super().security_protocol

    def ssl_context(self) -> ssl.SSLContext | None:
        return self.tls


def shop_settings(shop: ShopResource, tls: ssl.SSLContext | None) -> ShopKafkaSettings:
    return ShopKafkaSettings(shop.spec.bootstrap_servers, tls=tls)


@dataclass(frozen=True)
class QueueState:
    partitions: int
    """Partitions of the orders topic."""
    queued_orders: int
    """Orders taken but not yet picked up by a preparer."""
    queued_for_cook: int
    """Plaice orders in the cook topic not yet picked up by a cook."""
    orders_estimated: bool = False
    """Some of ``queued_orders`` was taken from offsets, not counted record by record (a
    long queue, or a count that ran out of time): it may include transaction markers."""
    cook_estimated: bool = False
    """The same for ``queued_for_cook``."""


async def _bounded(work: Awaitable[T], what: str, servers: str) -> T:
    try:
        return await asyncio.wait_for(work, TIMEOUT)
    except (TimeoutError, KafkaError, OSError) as error:
        raise KafkaUnreachable(
            f"cannot {what}: Kafka at {servers} did not answer ({type(error).__name__}: "
            f"{error or 'no reply'}). Check spec.kafka.bootstrapServers and that Kafka is up."
        ) from error


async def reconcile_topics(
    settings: KafkaSettings, shop: ShopResource, *, clients: KafkaClients | None = None
) -> TopicsOutcome:
    """Create or grow the shop's topics; with ``clients``, look first on a shared one."""
    servers = settings.bootstrap_servers
    try:
        plan = await _bounded(
            _ensure_topics(settings, shop, clients), "create the shop's topics", servers
        )
    except PartitionDecreaseError as error:
        return TopicsOutcome(False, "TopicHasMorePartitions", str(error))
    except TopicCreationError as error:
        return TopicsOutcome(False, "TopicCreationRefused", str(error))
    except KafkaUnreachable as error:
        return TopicsOutcome(False, "KafkaUnreachable", str(error))
    if plan.create:
        message = "created " + ", ".join(sorted(plan.create))
    elif plan.grow:
        message = "grew " + ", ".join(f"{k} to {v}" for k, v in sorted(plan.grow.items()))
    else:
        message = "topics exist with the partitions asked for"
    if {shop.topics.orders, shop.topics.cook} <= set(plan.create):
        # Made just now, so nothing waits in them yet: no need to ask Kafka to count.
        return TopicsOutcome(True, "TopicsCreated", message, shop.spec.partitions, 0, 0)
    return TopicsOutcome(True, "TopicsCreated", message, shop.spec.partitions)


async def _ensure_topics(
    settings: KafkaSettings, shop: ShopResource, clients: KafkaClients | None
) -> TopicPlan:
    """Nearly every resync finds the topics as asked: that is seen on the shared admin
    client; only a change (rare) opens a client of its own to make it."""
    if clients is not None:
        desired = desired_partitions(shop.topics, shop.spec.partitions)
        async with clients.admin(_ids(shop), settings) as admin:
            existing = await topic_partitions(admin, list(desired))
        plan = plan_topics(desired, existing)
        if plan.empty:
            return plan
    return await ensure_topics(settings, shop.topics, shop.spec.partitions)


async def kafka_cluster_id(
    settings: KafkaSettings, shop: ShopResource, clients: KafkaClients
) -> str:
    """The shop's Kafka's cluster id; raises KafkaUnreachable."""

    async def ask() -> str:
        async with clients.admin(_ids(shop), settings) as admin:
            return str((await admin.describe_cluster()).get("cluster_id") or "")

    return await _bounded(ask(), "read the Kafka cluster's id", settings.bootstrap_servers)


async def queue_state(
    settings: KafkaSettings, shop: ShopResource, *, clients: KafkaClients | None = None
) -> QueueState:
    """Partitions, and what waits for the preparers and for the cooks; on ``clients``
    (shared with other shops of that Kafka), else on clients of its own."""
    pool = clients if clients is not None else KafkaClients()
    try:
        return await _bounded(
            _queue_state(settings, shop, pool),
            "count queued orders",
            settings.bootstrap_servers,
        )
    finally:
        if clients is None:
            await pool.close()


async def _queue_state(
    settings: KafkaSettings, shop: ShopResource, clients: KafkaClients
) -> QueueState:
    topics = shop.topics
    async with clients.admin(_ids(shop), settings) as admin:
        partitions = await topic_partitions(admin, [topics.orders, topics.cook])
        for_preparers = await _group_offsets(admin, shop.preparers_group)
        for_cooks = await _group_offsets(admin, shop.cooks_group)
    async with clients.consumer(_ids(shop), settings) as consumer:
        # A topic deleted by hand since has no partitions: the next reconcile makes it.
        orders, cook = partitions.get(topics.orders, 0), partitions.get(topics.cook, 0)
        queued = total(
            (await count_waiting(consumer, topics.orders, orders, for_preparers)).values()
        )
        for_cook = total((await count_waiting(consumer, topics.cook, cook, for_cooks)).values())
    return QueueState(
        orders, queued.records, for_cook.records, queued.estimated, for_cook.estimated
    )


def _ids(shop: ShopResource) -> tuple[str, str]:
    return shop.namespace, shop.name


async def _group_offsets(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    """A group's committed offsets, asked again while its coordinator is not ready
    (a new cluster makes its offsets topic on first use); the caller bounds the time."""
    while True:
        try:
            return await committed_offsets(admin, group)
        except KafkaError as error:
            if not getattr(error, "retriable", False):
                raise
        await asyncio.sleep(0.2)


async def delete_shop_topics(settings: KafkaSettings, shop: ShopResource) -> list[str]:
    """Delete the shop's topics (with its analyst's dead-letter topic, which Connect
    made); raises TopicDeletionError when Kafka refuses one."""
    return await _bounded(
        delete_topics(settings, shop.topics, (analyst_dead_letter_topic(shop.topics.prefix),)),
        "delete the shop's topics",
        settings.bootstrap_servers,
    )
