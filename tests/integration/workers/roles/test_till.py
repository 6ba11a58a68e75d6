"""A till against the real broker."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.roles.till import Till, TillSettings
from fishshop_workers.shop.topics import ShopTopics, default_prefix

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


async def _numbers_of(kafka: KafkaSettings, topic: str, till: int, want: int) -> list[int]:
    consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **kafka.client_options())
    await consumer.start()
    numbers: list[int] = []
    try:
        for _ in range(30):
            if len(numbers) >= want:
                break
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    order = json.loads(record.value)
                    if order.get("till") == till and order["id"] != "absurd":
                        numbers.append(order["order"])
    finally:
        await consumer.stop()
    return numbers


async def _take(kafka: KafkaSettings, shop: str, prefix: str, count: int) -> None:
    options = WorkerOptions(shop, prefix, kafka, "test")
    metrics = ShopMetrics(shop, "till", "till-1", CollectorRegistry())
    await Till(options, TillSettings(1, 0, max_orders=count), metrics).run(asyncio.Event())


async def test_a_till_ignores_an_absurd_number_and_never_repeats_after_retention(
    kafka: KafkaSettings, shop_name: str
) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
    from aiokafka.structs import TopicPartition

    prefix = default_prefix(shop_name)
    topics = ShopTopics.from_prefix(prefix)
    await ensure_topics(kafka, topics, 1)
    await _take(kafka, shop_name, prefix, 3)  # 1, 2, 3
    producer = AIOKafkaProducer(**kafka.client_options())
    await producer.start()
    try:
        absurd = {
            "v": 1, "id": "absurd", "order": 10**30, "till": 1, "parts": [["cod"]],
            "ready": False, "createdAt": "2026-11-25T12:00:00.000Z",
        }  # fmt: skip
        await producer.send_and_wait(topics.orders, json.dumps(absurd).encode(), partition=0)
    finally:
        await producer.stop()
    await _take(kafka, shop_name, prefix, 2)  # the absurd one refused unread: 4, 5
    assert await _numbers_of(kafka, topics.orders, 1, 5) == [1, 2, 3, 4, 5]
    # Retention takes everything so far: the till finds none of its orders.
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topics.orders, 0): RecordsToDelete(6)})
    finally:
        await admin.close()
    await _take(kafka, shop_name, prefix, 2)
    numbers = await _numbers_of(kafka, topics.orders, 1, 2)
    assert numbers == [7, 8], "carries on from the partition's end offset, never from 1"
