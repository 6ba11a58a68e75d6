"""fishshop_consumer_lag counts records, not offsets, on the real broker.

Every transaction leaves a marker that takes an offset, so the end offset minus the
group's committed offset stays above zero on an idle transactional topic. The
workers' gauge must read what waits: 0 when everything is handled, and the number
of orders (never markers) while some wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from prometheus_client import CollectorRegistry

from fishshop_workers.kafka import exactly_once
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.exactly_once import ExactlyOnceLoop, Record
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.roles.preparer import Preparer, PreparerSettings
from fishshop_workers.shop.order import Order, encode_order, format_time
from fishshop_workers.shop.outgoing import Outgoing
from fishshop_workers.shop.topics import ShopTopics, default_prefix

pytestmark = pytest.mark.broker

LAG = "fishshop_consumer_lag"


async def _orders_in_transactions(kafka: KafkaSettings, topic: str, sizes: Sequence[int]) -> int:
    """Write cod-and-chips orders to partition 0, one committed transaction per size."""
    producer = AIOKafkaProducer(
        transactional_id=f"{topic}-test-till", enable_idempotence=True, **kafka.client_options()
    )
    await producer.start()
    number = 0
    try:
        for size in sizes:
            async with producer.transaction():
                for _ in range(size):
                    number += 1
                    order = Order(
                        f"{topic}-{number}",
                        number,
                        1,
                        (("cod", "chips"),),
                        format_time(datetime.now(UTC)),
                    )
                    await producer.send(topic, encode_order(order), key=b"1", partition=0)
    finally:
        await producer.stop()
    return number


async def _offset_gap(kafka: KafkaSettings, tp: TopicPartition, group: str) -> int:
    """End offset minus the group's committed offset: what an offset-based lag shows."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    consumer = AIOKafkaConsumer(isolation_level="read_committed", **kafka.client_options())
    await admin.start()
    await consumer.start()
    try:
        committed: int = (await admin.list_consumer_group_offsets(group))[tp].offset
        end: int = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()
        await admin.close()
    return end - committed


def _lag(registry: CollectorRegistry, shop: str, tp: TopicPartition) -> float | None:
    labels = {"shop": shop, "topic": tp.topic, "partition": str(tp.partition)}
    return registry.get_sample_value(LAG, labels)


async def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def test_an_idle_preparer_on_a_transactional_topic_reads_lag_zero(
    kafka: KafkaSettings, shop_name: str
) -> None:
    prefix = default_prefix(shop_name)
    topics = ShopTopics.from_prefix(prefix)
    tp = TopicPartition(topics.orders, 0)
    registry = CollectorRegistry()
    metrics = ShopMetrics(shop_name, "preparer", "preparer-0", registry)
    options = WorkerOptions(shop_name, prefix, kafka, "preparer-0")
    preparer = Preparer(options, PreparerSettings(0.0, 0.0), metrics)

    async def scenario() -> tuple[list[float | None], int]:
        await ensure_topics(kafka, topics, 1)
        orders = await _orders_in_transactions(kafka, topics.orders, [3, 1, 4, 2])
        stop = asyncio.Event()
        running = asyncio.create_task(preparer.run(stop))
        try:

            def all_served() -> bool:
                served = registry.get_sample_value(
                    "fishshop_orders_served_total", {"shop": shop_name}
                )
                return served == orders and _lag(registry, shop_name, tp) is not None

            await _until(all_served, 60, f"{orders} orders served")
            readings = []
            for _ in range(10):  # several reports after the last batch, idle
                await asyncio.sleep(0.3)
                readings.append(_lag(registry, shop_name, tp))
        finally:
            stop.set()
            await asyncio.wait_for(running, 60)
        return readings, await _offset_gap(kafka, tp, options.preparers_group)

    readings, gap = asyncio.run(scenario())
    assert gap > 0, "no transaction marker after the last order: the test proves nothing"
    assert readings == [0.0] * len(readings), f"an idle preparer read lag {readings}"


def test_while_orders_wait_the_lag_counts_them_not_their_markers(
    kafka: KafkaSettings, shop_name: str
) -> None:
    topics = ShopTopics.from_prefix(default_prefix(shop_name))
    tp = TopicPartition(topics.orders, 0)
    group = f"{shop_name}-preparers"
    registry = CollectorRegistry()
    metrics = ShopMetrics(shop_name, "preparer", "preparer-0", registry)
    batches: asyncio.Queue[list[int]] = asyncio.Queue()
    go_on: asyncio.Queue[None] = asyncio.Queue()

    async def handle(_tp: TopicPartition, records: Sequence[Record]) -> list[Outgoing]:
        batches.put_nowait([r.offset for r in records])
        await go_on.get()  # the test lets one batch through at a time
        return []

    loop = ExactlyOnceLoop(
        kafka,
        topics.orders,
        group,
        handle,
        on_committed=lambda _: None,
        max_records=5,
        on_lag=lambda tp, lag: metrics.set_lag(tp.topic, tp.partition, lag),
    )

    async def scenario() -> tuple[list[float | None], list[int], int]:
        await ensure_topics(kafka, topics, 1)
        # Offsets 0-3 orders, 4 marker, 5-8 orders, 9 marker, 10-13 orders, 14 marker.
        orders = await _orders_in_transactions(kafka, topics.orders, [4, 4, 4])
        stop = asyncio.Event()
        running = asyncio.create_task(loop.run(stop))
        readings: list[float | None] = []
        handled: list[int] = []
        gap_while_waiting = 0
        try:
            while len(handled) < orders:
                batch = await asyncio.wait_for(batches.get(), 60)
                if handled:  # the previous batch is committed and reported
                    readings.append(_lag(registry, shop_name, tp))
                    if not gap_while_waiting:
                        gap_while_waiting = await _offset_gap(kafka, tp, group)
                handled.extend(batch)
                go_on.put_nowait(None)
            await _until(lambda: _lag(registry, shop_name, tp) == 0, 10, "lag 0")
            readings.append(_lag(registry, shop_name, tp))
        finally:
            stop.set()
            for _ in range(10):
                go_on.put_nowait(None)
            await asyncio.wait_for(running, 60)
        return readings, handled, gap_while_waiting

    readings, handled, gap = asyncio.run(scenario())
    assert handled == [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13]
    # After 5 handled 7 orders wait, after 10 two, then none; offsets said 9 after 5.
    assert readings == [7.0, 2.0, 0.0]
    assert gap == 9, "the offsets should count the two markers still ahead"


def test_a_backlog_past_its_limit_is_paused_and_every_order_handled_once(
    kafka: KafkaSettings, shop_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orders arrive faster than they are handled: the partition's backlog fills, the
    partition is paused and fetched again later. Nothing is lost or handled twice,
    and the lag ends at 0 past the markers."""
    monkeypatch.setattr(exactly_once, "BACKLOG_LIMIT", 8)
    pauses: list[TopicPartition] = []
    real_pause = AIOKafkaConsumer.pause

    def pause(self: AIOKafkaConsumer, *partitions: TopicPartition) -> None:
        pauses.extend(partitions)
        real_pause(self, *partitions)

    monkeypatch.setattr(AIOKafkaConsumer, "pause", pause)
    topics = ShopTopics.from_prefix(default_prefix(shop_name))
    tp = TopicPartition(topics.orders, 0)
    group = f"{shop_name}-preparers"
    registry = CollectorRegistry()
    metrics = ShopMetrics(shop_name, "preparer", "preparer-0", registry)
    handled: list[int] = []
    written = asyncio.Event()

    async def handle(_tp: TopicPartition, records: Sequence[Record]) -> list[Outgoing]:
        handled.extend(r.offset for r in records)
        # Slower than the orders come, whatever the machine: the first batch waits
        # for the last order, so the next fetch brings more than the backlog holds.
        await written.wait()
        await asyncio.sleep(0.05)
        return []

    loop = ExactlyOnceLoop(
        kafka,
        topics.orders,
        group,
        handle,
        on_committed=lambda _: None,
        max_records=3,
        on_lag=lambda tp, lag: metrics.set_lag(tp.topic, tp.partition, lag),
    )

    async def scenario() -> int:
        await ensure_topics(kafka, topics, 1)
        stop = asyncio.Event()
        running = asyncio.create_task(loop.run(stop))
        try:
            # The partition is taken and read (an empty topic reads 0) before orders come.
            await _until(lambda: _lag(registry, shop_name, tp) == 0, 60, "the partition taken")
            orders = await _orders_in_transactions(kafka, topics.orders, [5] * 12)
            written.set()
            await _until(
                lambda: len(handled) >= orders and _lag(registry, shop_name, tp) == 0,
                60,
                "every order handled and lag 0",
            )
            await asyncio.sleep(0.5)  # anything handled twice would show by now
        finally:
            stop.set()
            await asyncio.wait_for(running, 60)
        return orders

    orders = asyncio.run(scenario())
    assert pauses.count(tp) >= 2, "the backlog never filled: taken once, never held back"
    expected = [offset for txn in range(12) for offset in range(txn * 6, txn * 6 + 5)]
    assert len(expected) == orders
    assert handled == expected
