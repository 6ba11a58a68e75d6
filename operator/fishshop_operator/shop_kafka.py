"""The operator's Kafka calls for one shop: topics, queue length, deletion.

Every call is bounded in time, so an unreachable Kafka becomes a clear
``KafkaUnreachable`` for the status instead of a reconcile that hangs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from fishshop_operator.conditions import TopicsOutcome
from fishshop_operator.resource import ShopResource
from fishshop_workers.kafka_settings import KafkaSettings
from fishshop_workers.kafka_topics import (
    TopicCreationError,
    delete_topics,
    describe_partitions,
    ensure_topics,
)
from fishshop_workers.topics import PartitionDecreaseError

__all__ = [
    "KafkaUnreachable",
    "delete_shop_topics",
    "orders_state",
    "reconcile_topics",
    "shop_settings",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUT = 20.0
EXACT_COUNT_LIMIT = 5000
"""Up to this many offsets behind, queued orders are counted record by record."""


class KafkaUnreachable(RuntimeError):
    pass


def shop_settings(shop: ShopResource, certs_dir: Path | None) -> KafkaSettings:
    return KafkaSettings(shop.spec.bootstrap_servers, certs_dir=certs_dir)


async def _bounded(work: Awaitable[T], what: str, servers: str) -> T:
    try:
        return await asyncio.wait_for(work, TIMEOUT)
    except (TimeoutError, KafkaError, OSError) as error:
        raise KafkaUnreachable(
            f"cannot {what}: Kafka at {servers} did not answer ({type(error).__name__}: "
            f"{error or 'no reply'}). Check spec.kafka.bootstrapServers and that Kafka is up."
        ) from error


async def reconcile_topics(settings: KafkaSettings, shop: ShopResource) -> TopicsOutcome:
    """Create or grow the shop's topics."""
    servers = settings.bootstrap_servers
    try:
        plan = await _bounded(
            ensure_topics(settings, shop.topics, shop.spec.partitions),
            "create the shop's topics",
            servers,
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
    return TopicsOutcome(True, "TopicsCreated", message, shop.spec.partitions)


async def orders_state(settings: KafkaSettings, shop: ShopResource) -> tuple[int, int]:
    """Partitions of the orders topic and orders queued for the preparers."""
    return await _bounded(
        _orders_state(settings, shop),
        "count queued orders",
        settings.bootstrap_servers,
    )


async def _orders_state(settings: KafkaSettings, shop: ShopResource) -> tuple[int, int]:
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        partitions = (await describe_partitions(admin, [shop.topics.orders]))[shop.topics.orders]
        committed = await admin.list_consumer_group_offsets(shop.preparers_group)
    finally:
        await admin.close()
    return partitions, await _queued(settings, shop.topics.orders, partitions, committed)


async def _queued(
    settings: KafkaSettings,
    topic: str,
    partitions: int,
    committed: dict[TopicPartition, object],
) -> int:
    """Committed orders not yet taken by a preparer.

    Offsets also count transaction markers, so when the gap is small the records are
    read and counted; a large gap is reported as it is.
    """
    consumer = AIOKafkaConsumer(
        **settings.client_options(),
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        assignment = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assignment)
        ends = await consumer.end_offsets(assignment)
        starts = {}
        for tp in assignment:
            meta = committed.get(tp)
            offset = getattr(meta, "offset", -1)
            starts[tp] = offset if isinstance(offset, int) and offset >= 0 else None
        beginnings = await consumer.beginning_offsets(assignment)
        gaps = {
            tp: ends[tp] - (starts[tp] if starts[tp] is not None else beginnings[tp])
            for tp in assignment
        }
        if sum(gaps.values()) > EXACT_COUNT_LIMIT:
            return sum(gaps.values())
        count = 0
        pending = {tp for tp in assignment if gaps[tp] > 0}
        for tp in pending:
            consumer.seek(tp, starts[tp] if starts[tp] is not None else beginnings[tp])
        for tp in assignment:
            if tp not in pending:
                consumer.pause(tp)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while pending and loop.time() < deadline:
            batches = await consumer.getmany(*pending, timeout_ms=300)
            for tp, records in batches.items():
                count += sum(1 for r in records if r.offset < ends[tp])
            for tp in list(pending):
                # Past the last record, only transaction markers may be left.
                if await consumer.position(tp) >= ends[tp] or (
                    not batches.get(tp) and await consumer.position(tp) >= ends[tp] - 1
                ):
                    pending.discard(tp)
                    consumer.pause(tp)
        return count
    finally:
        await consumer.stop()


async def delete_shop_topics(settings: KafkaSettings, shop: ShopResource) -> None:
    await _bounded(
        delete_topics(settings, shop.topics),
        "delete the shop's topics",
        settings.bootstrap_servers,
    )
