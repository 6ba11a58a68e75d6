"""A coordinator that is loading or moving never makes a worker read from the beginning.

The broker is real; the fault is injected where aiokafka hands the coordinator's
answer back: the real OffsetFetch answer is returned with the top-level error code
Kafka sets while it loads a group (offsets -1, partition errors 0), which is exactly
what a broker restart or a coordinator move in a multi-broker cluster produces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.commit import OffsetFetchRequest
from aiokafka.structs import TopicPartition

from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.exactly_once import ExactlyOnceLoop, Record
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.outgoing import Outgoing
from fishshop_workers.shop.topics import ShopTopics, default_prefix

pytestmark = pytest.mark.broker

COORDINATOR_LOAD_IN_PROGRESS = 14


class _Fault:
    """Answers the next ``count`` OffsetFetch requests as a loading coordinator would."""

    def __init__(self) -> None:
        self.count = 0
        self.injected = 0


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch) -> _Fault:
    state = _Fault()
    real = GroupCoordinator._send_req

    async def send_req(self: GroupCoordinator, request: Any) -> Any:
        response = await real(self, request)
        if isinstance(request, OffsetFetchRequest) and state.count > 0:
            state.count -= 1
            state.injected += 1
            topics = [
                (topic, [(p, -1, "", 0) for p, _offset, _meta, _error in partitions])
                for topic, partitions in response.topics
            ]
            fields = {"topics": topics, "error_code": COORDINATOR_LOAD_IN_PROGRESS}
            if hasattr(response, "throttle_time_ms"):
                fields["throttle_time_ms"] = 0
            assert hasattr(response, "error_code"), "the broker answered OffsetFetch < v2"
            return type(response)(**fields)
        return response

    monkeypatch.setattr(GroupCoordinator, "_send_req", send_req)
    return state


async def _produce(kafka: KafkaSettings, topic: str, first: int, count: int) -> None:
    producer = AIOKafkaProducer(**kafka.client_options())
    await producer.start()
    try:
        for n in range(first, first + count):
            await producer.send(topic, str(n).encode(), partition=0)
        await producer.flush()
    finally:
        await producer.stop()


async def _consume(kafka: KafkaSettings, topic: str, group: str, want: int) -> list[int]:
    """Run a worker's loop until it has handled ``want`` records; the offsets handled."""
    seen: list[int] = []
    stop = asyncio.Event()

    async def handle(tp: TopicPartition, records: Sequence[Record]) -> list[Outgoing]:
        seen.extend(record.offset for record in records)
        if len(seen) >= want:
            stop.set()
        return []

    loop = ExactlyOnceLoop(kafka, topic, group, handle, on_committed=lambda _: None)
    await asyncio.wait_for(loop.run(stop), 60)
    await asyncio.sleep(0)  # the loop has committed and left the group
    return seen


def test_a_loading_coordinator_during_a_partition_take_replays_nothing(
    kafka: KafkaSettings, shop_name: str, fault: _Fault
) -> None:
    topics = ShopTopics.from_prefix(default_prefix(shop_name))
    topic, group = topics.orders, f"{shop_name}-group"

    async def scenario() -> tuple[list[int], list[int]]:
        await ensure_topics(kafka, topics, 1)
        await _produce(kafka, topic, 0, 10)
        first = await _consume(kafka, topic, group, 10)
        await _produce(kafka, topic, 10, 5)
        fault.count = 2  # the next two answers say "loading"; then the real one
        second = await _consume(kafka, topic, group, 5)
        return first, second

    first, second = asyncio.run(scenario())
    assert first == list(range(10))
    assert fault.injected == 2, "the fault never reached the partition take"
    assert second == list(range(10, 15)), f"records handled again: {second}"


def test_aiokafka_alone_reads_a_loading_coordinator_as_no_offset(
    kafka: KafkaSettings, shop_name: str, fault: _Fault
) -> None:
    """Why committed_offset exists: the same answer fools consumer.committed()."""
    topics = ShopTopics.from_prefix(default_prefix(shop_name))
    topic, group = topics.orders, f"{shop_name}-group"

    async def scenario() -> tuple[int | None, int | None]:
        await ensure_topics(kafka, topics, 1)
        await _produce(kafka, topic, 0, 3)
        await _consume(kafka, topic, group, 3)
        consumer = AIOKafkaConsumer(group_id=group, **kafka.client_options())
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            honest = await consumer.committed(tp)
            fault.count = 1
            fooled = await consumer.committed(tp)
        finally:
            await consumer.stop()
        return honest, fooled

    honest, fooled = asyncio.run(scenario())
    assert honest == 3
    assert fault.injected == 1
    assert fooled is None
