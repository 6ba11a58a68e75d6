"""A till against the real broker."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from fishshop_workers.kafka_settings import KafkaSettings
from fishshop_workers.kafka_topics import ensure_topics
from fishshop_workers.metrics import ShopMetrics
from fishshop_workers.till import Till, TillSettings
from fishshop_workers.topics import ShopTopics, default_prefix
from fishshop_workers.worker_options import WorkerOptions

pytestmark = pytest.mark.broker


async def test_a_restarted_till_carries_on_counting(kafka: KafkaSettings, shop_name: str) -> None:
    prefix = default_prefix(shop_name)
    topics = ShopTopics.from_prefix(prefix)
    await ensure_topics(kafka, topics, 2)
    options = WorkerOptions(shop_name, prefix, kafka, "test")
    for number in (1, 3, 1):  # till 3 shares till 1's partition; till 1 restarts
        metrics = ShopMetrics(shop_name, "till", f"till-{number}", CollectorRegistry())
        till = Till(options, TillSettings(number, 0, max_orders=4), metrics)
        await till.run(asyncio.Event())
        assert (
            metrics.registry.get_sample_value(
                "fishshop_orders_created_total", {"shop": shop_name, "till": str(number)}
            )
            == 4
        )
    consumer = AIOKafkaConsumer(
        topics.orders, auto_offset_reset="earliest", **kafka.client_options()
    )
    await consumer.start()
    numbers: dict[int, list[int]] = {}
    try:
        for _ in range(30):
            if sum(len(v) for v in numbers.values()) >= 12:
                break
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    order = json.loads(record.value)
                    numbers.setdefault(order["till"], []).append(order["order"])
    finally:
        await consumer.stop()
    assert numbers == {1: [1, 2, 3, 4, 5, 6, 7, 8], 3: [1, 2, 3, 4]}
