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

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.structs import OffsetAndMetadata

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
    "queue_state",
    "reconcile_topics",
    "shop_settings",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUT = 20.0
MARKER_PATIENCE = 1.2
"""Seconds without a record, one offset short of the end, before the last offset is
taken for a transaction marker (a fetch long-polls for 0.5 s)."""
EXACT_COUNT_LIMIT = 5000
"""Up to this many offsets behind, queued orders are counted record by record."""
COUNT_PATIENCE = 5.0
"""Seconds a record-by-record count may take; what is not read by then is taken from
offsets (an overestimate: markers count too), never left out."""


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
            existing = await _own_partitions(admin, list(desired))
        plan = plan_topics(desired, existing)
        if plan.empty:
            return plan
    return await ensure_topics(settings, shop.topics, shop.spec.partitions)


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
        partitions = await _own_partitions(admin, [topics.orders, topics.cook])
        for_preparers = await _group_offsets(admin, shop.preparers_group)
        for_cooks = await _group_offsets(admin, shop.cooks_group)
    async with clients.consumer(_ids(shop), settings) as consumer:
        # A topic deleted by hand since has no partitions: the next reconcile makes it.
        orders, cook = partitions.get(topics.orders, 0), partitions.get(topics.cook, 0)
        queued, orders_estimated = await _queued(consumer, topics.orders, orders, for_preparers)
        for_cook, cook_estimated = await _queued(consumer, topics.cook, cook, for_cooks)
    return QueueState(orders, queued, for_cook, orders_estimated, cook_estimated)


def _ids(shop: ShopResource) -> tuple[str, str]:
    return shop.namespace, shop.name


async def _own_partitions(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partitions of each named topic that exists, from metadata of these topics only.

    ``list_topics`` would bring every topic of the cluster at each look (hundreds of
    shops share it); the admin client's ``describe_topics`` lets the broker create a
    topic it is asked about (auto.create.topics.enable), so a topic deleted by hand
    would come back with the broker's defaults. Hence the request, with creation off.
    """
    request = MetadataRequest(names, allow_auto_topic_creation=False)
    response = await admin._send_request(request)  # private: the public call allows creation
    described = response.to_object()["topics"]
    return {
        item["topic"]: len(item["partitions"])
        for item in described
        if item["error_code"] == 0 and item["topic"] in names
    }


async def _group_offsets(
    admin: AIOKafkaAdminClient, group: str
) -> dict[TopicPartition, OffsetAndMetadata]:
    """A group's committed offsets, asked again while its coordinator is not ready
    (a new cluster makes its offsets topic on first use); the caller bounds the time."""
    while True:
        try:
            offsets: dict[
                TopicPartition, OffsetAndMetadata
            ] = await admin.list_consumer_group_offsets(group)
            return offsets
        except KafkaError as error:
            if not getattr(error, "retriable", False):
                raise
        await asyncio.sleep(0.2)


async def _queued(
    consumer: AIOKafkaConsumer,
    topic: str,
    partitions: int,
    committed: dict[TopicPartition, OffsetAndMetadata],
) -> tuple[int, bool]:
    """Committed records of ``topic`` not yet taken by the group that ``committed`` is of,
    and whether any of it was taken from offsets rather than counted.

    Offsets also count transaction markers, so when the gap is small the records are
    read and counted; a large gap is reported as it is. A count that runs out of time
    adds the offsets not yet read: an overestimate, which never scales down early. A
    partition the group has no offset for counts from its beginning: nobody has taken
    anything from it yet.
    """
    assignment = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(assignment)
    # Paused at once, before the consumer's first fetch: the broker answers one request
    # per connection at a time, so a fetch's long poll (0.5 s) would hold up the
    # offset lookups behind it. Only partitions with records to read are resumed.
    consumer.pause(*assignment)
    ends = await consumer.end_offsets(assignment)
    beginnings = await consumer.beginning_offsets(assignment)
    starts = {}
    for tp in assignment:
        meta = committed.get(tp)
        offset = meta.offset if meta is not None else -1
        starts[tp] = offset if offset >= beginnings[tp] else beginnings[tp]
    gaps = {tp: max(0, ends[tp] - starts[tp]) for tp in assignment}
    if sum(gaps.values()) > EXACT_COUNT_LIMIT:
        return sum(gaps.values()), True
    count = 0
    pending = {tp for tp in assignment if gaps[tp] > 0}
    for tp in pending:
        consumer.seek(tp, starts[tp])
    consumer.resume(*pending)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + COUNT_PATIENCE
    last_data = dict.fromkeys(pending, loop.time())
    while pending and loop.time() < deadline:
        batches = await consumer.getmany(*pending, timeout_ms=300)
        now = loop.time()
        for tp, records in batches.items():
            count += sum(1 for r in records if r.offset < ends[tp])
            if records:
                last_data[tp] = now
        for tp in list(pending):
            position = await consumer.position(tp)
            # One offset short of the end with nothing fetched for a while (longer
            # than a fetch's long poll): what is left is a transaction marker, not an
            # order. A partition whose fetch is merely still in flight waits.
            if position >= ends[tp] or (
                position >= ends[tp] - 1 and now - last_data[tp] > MARKER_PATIENCE
            ):
                pending.discard(tp)
                consumer.pause(tp)
    for tp in pending:  # out of time: what is left unread counts by its offsets
        count += max(0, ends[tp] - max(await consumer.position(tp), starts[tp]))
    return count, bool(pending)


async def delete_shop_topics(settings: KafkaSettings, shop: ShopResource) -> list[str]:
    """Delete the shop's topics (with its analyst's dead-letter topic, which Connect
    made); raises TopicDeletionError when Kafka refuses one."""
    return await _bounded(
        delete_topics(settings, shop.topics, (analyst_dead_letter_topic(shop.topics.prefix),)),
        "delete the shop's topics",
        settings.bootstrap_servers,
    )
