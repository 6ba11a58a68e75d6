"""The one queue count (fishshop_workers.kafka.queues) against a stand-in consumer: what
is counted record by record, what is taken from offsets, and that a count cut short by
its deadline never leaves out what it did not read. The real broker proves the count
itself in tests/integration/operator/test_kafka.py (the operator's status) and
tests/integration/cli/demo/test_view.py (the live view)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from fishshop_workers.kafka import queues
from fishshop_workers.kafka.queues import Waiting

TOPIC = "fishshop.seaside.harbour.orders"


class SlowConsumer:
    """Partition 0 holds ``ends[0]`` records and hands over ``per_fetch`` at each fetch;
    partition 1 never answers (a fetch still in flight when time runs out)."""

    def __init__(self, ends: dict[int, int], per_fetch: int) -> None:
        self.ends = {TopicPartition(TOPIC, p): end for p, end in ends.items()}
        self.positions: dict[TopicPartition, int] = {}
        self.per_fetch = per_fetch

    def assign(self, partitions: list[TopicPartition]) -> None:
        pass

    def pause(self, *partitions: TopicPartition) -> None:
        pass

    def resume(self, *partitions: TopicPartition) -> None:
        pass

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends[tp] for tp in partitions}

    async def beginning_offsets(
        self, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        return dict.fromkeys(partitions, 0)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int) -> dict[Any, Any]:
        await asyncio.sleep(timeout_ms / 10_000)
        tp = TopicPartition(TOPIC, 0)
        if tp not in partitions:
            return {}
        start = self.positions[tp]
        end = min(start + self.per_fetch, self.ends[tp])
        self.positions[tp] = end
        return {tp: [SimpleNamespace(offset=o) for o in range(start, end)]}


async def _per_partition(
    consumer: SlowConsumer, partitions: int, committed: dict[int, int]
) -> dict[int, Waiting]:
    offsets = {TopicPartition(TOPIC, p): o for p, o in committed.items()}
    return await queues.count_waiting(cast(AIOKafkaConsumer, consumer), TOPIC, partitions, offsets)


async def _count(
    consumer: SlowConsumer, partitions: int, committed: dict[int, int]
) -> tuple[int, bool]:
    return queues.total((await _per_partition(consumer, partitions, committed)).values())


async def test_a_short_queue_is_counted_record_by_record() -> None:
    consumer = SlowConsumer({0: 30}, per_fetch=100)
    assert await _count(consumer, 1, {0: 10}) == (20, False)


async def test_a_long_queue_is_taken_from_offsets_and_says_so() -> None:
    consumer = SlowConsumer({0: 4000, 1: 3000}, per_fetch=100)
    assert await _count(consumer, 2, {0: 1000}) == (6000, True)


async def test_a_count_cut_short_adds_the_offsets_it_did_not_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(queues, "COUNT_PATIENCE", 0.05)
    # Partition 0: some of its 40 records read before time ran out; partition 1: none
    # of its 25. Left out, the rest would make a short queue and scale the shop down.
    consumer = SlowConsumer({0: 40, 1: 25}, per_fetch=10)
    queued, estimated = await _count(consumer, 2, {0: 0})
    assert consumer.positions[TopicPartition(TOPIC, 0)] < 40  # the count was cut short
    assert (queued, estimated) == (65, True)


async def test_each_partition_is_counted_on_its_own() -> None:
    consumer = SlowConsumer({0: 30, 1: 0}, per_fetch=100)
    assert await _per_partition(consumer, 2, {0: 10}) == {0: Waiting(20), 1: Waiting(0)}


async def test_a_long_queue_says_which_partitions_were_taken_from_offsets() -> None:
    consumer = SlowConsumer({0: 6000, 1: 0}, per_fetch=100)
    assert await _per_partition(consumer, 2, {0: 500}) == {
        0: Waiting(5500, estimated=True),
        1: Waiting(0, estimated=False),
    }


async def test_a_partition_the_group_never_took_from_counts_from_its_beginning() -> None:
    consumer = SlowConsumer({0: 12}, per_fetch=5)
    assert await _per_partition(consumer, 1, {}) == {0: Waiting(12)}


async def test_a_topic_that_is_not_there_has_nothing_waiting() -> None:
    assert await _per_partition(SlowConsumer({}, per_fetch=1), 0, {}) == {}


def test_partitions_add_up_and_one_estimate_makes_the_sum_one() -> None:
    assert queues.total([Waiting(3), Waiting(4, estimated=True)]) == Waiting(7, True)
    assert queues.total([]) == Waiting(0, False)
