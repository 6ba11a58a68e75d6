"""The topic module against the real broker: idempotent, grows, never shrinks."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from fishshop_workers.kafka.admin import delete_topics, describe_partitions, ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import PartitionDecreaseError, ShopTopics, default_prefix

pytestmark = pytest.mark.broker


async def _partitions(kafka: KafkaSettings, topics: ShopTopics) -> dict[str, int]:
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        return await describe_partitions(admin, list(topics))
    finally:
        await admin.close()


async def test_topics_are_created_once_grown_and_never_shrunk(
    kafka: KafkaSettings, shop_name: str
) -> None:
    topics = ShopTopics.from_prefix(default_prefix(shop_name))
    first = await ensure_topics(kafka, topics, 2)
    assert set(first.create) == set(topics)
    again = await ensure_topics(kafka, topics, 2)
    assert again.empty
    assert await _partitions(kafka, topics) == {
        topics.orders: 2,
        topics.cook: 2,
        topics.served: 2,
        topics.dlq: 1,
    }
    grown = await ensure_topics(kafka, topics, 5)
    assert grown.grow == {topics.orders: 5, topics.cook: 5, topics.served: 5}
    with pytest.raises(PartitionDecreaseError, match="cannot remove partitions"):
        await ensure_topics(kafka, topics, 3)
    assert (await _partitions(kafka, topics))[topics.orders] == 5
    await delete_topics(kafka, topics)


async def test_till_n_writes_partition_n_minus_one_mod_p(
    kafka: KafkaSettings, shop_name: str
) -> None:
    import asyncio

    from prometheus_client import CollectorRegistry

    from fishshop_workers.roles.metrics import ShopMetrics
    from fishshop_workers.roles.options import WorkerOptions
    from fishshop_workers.roles.till import Till, TillSettings

    prefix = default_prefix(shop_name)
    topics = ShopTopics.from_prefix(prefix)
    await ensure_topics(kafka, topics, 3)
    options = WorkerOptions(shop_name, prefix, kafka, "test")
    for number in (1, 2, 3, 4, 5):
        metrics = ShopMetrics(shop_name, "till", f"till-{number}", CollectorRegistry())
        till = Till(options, TillSettings(number, 0, max_orders=5), metrics)
        await till.run(asyncio.Event())
    consumer = AIOKafkaConsumer(
        topics.orders, auto_offset_reset="earliest", **kafka.client_options()
    )
    await consumer.start()
    seen: dict[int, set[int]] = {}
    count = 0
    try:
        for _ in range(30):
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for record in records:
                    assert record.key is not None
                    seen.setdefault(int(record.key), set()).add(tp.partition)
                    count += 1
            if count >= 25:
                break
    finally:
        await consumer.stop()
    assert count == 25
    assert seen == {1: {0}, 2: {1}, 3: {2}, 4: {0}, 5: {1}}
