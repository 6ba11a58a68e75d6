"""send_all packs a transaction's records into one batch per partition, in order,
where AIOKafkaProducer.send would have put each record."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner

from fishshop_workers.kafka.sending import send_all
from fishshop_workers.shop.outgoing import Outgoing


class FakeBatch:
    def __init__(self, room: int) -> None:
        self.room = room
        self.records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]], int]] = []

    def append(
        self, *, timestamp: int, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> object | None:
        assert isinstance(headers, list), "aiokafka's record builder takes a list only"
        if len(value) > self.room:
            return None
        self.room -= len(value)
        self.records.append((key, value, headers, timestamp))
        return object()


class FakeProducer:
    """What send_all uses of AIOKafkaProducer, recording the batches sent."""

    def __init__(self, partitions: dict[str, int], room: int = 1000) -> None:
        self.partitions = partitions
        self.room = room
        self.sent: list[tuple[str, int, FakeBatch]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions[topic]))

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.room)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        self.sent.append((topic, partition, batch))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def _out(topic: str, key: bytes | None, value: bytes, partition: int | None = None) -> Outgoing:
    return Outgoing(topic, value, key, "served", partition=partition)


def _by_partition(producer: FakeProducer) -> dict[tuple[str, int], list[bytes]]:
    placed: dict[tuple[str, int], list[bytes]] = {}
    for topic, partition, batch in producer.sent:
        placed.setdefault((topic, partition), []).extend(r[1] for r in batch.records)
    return placed


def test_records_go_where_the_default_partitioner_puts_their_key() -> None:
    producer = FakeProducer({"served": 5})
    outputs = [
        _out("served", str(till).encode(), f"{n}".encode())
        for n in range(40)
        for till in (1, 2, 3, 7)
    ]
    deliveries = asyncio.run(send_all(producer, outputs))  # type: ignore[arg-type]
    assert len(deliveries) == len(producer.sent)
    partitioner = DefaultPartitioner()
    expected: dict[tuple[str, int], list[bytes]] = {}
    for out in outputs:
        where = ("served", partitioner(out.key, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]))
        expected.setdefault(where, []).append(out.value)
    assert _by_partition(producer) == expected, "same partitions, same order within each"


def test_a_given_partition_is_kept_and_headers_travel() -> None:
    producer = FakeProducer({"orders": 3, "dlq": 1})
    letter = Outgoing("dlq", b"bad", None, "rejected", headers=(("fishshop-reason", b"x"),))
    outputs = [
        _out("orders", b"9", b"a", partition=2),
        letter,
        _out("orders", b"9", b"b", partition=2),
    ]
    asyncio.run(send_all(producer, outputs))  # type: ignore[arg-type]
    assert _by_partition(producer) == {("orders", 2): [b"a", b"b"], ("dlq", 0): [b"bad"]}
    [dead] = [batch for topic, _, batch in producer.sent if topic == "dlq"]
    assert dead.records[0][2] == [("fishshop-reason", b"x")]


def test_a_full_batch_is_sent_and_the_next_one_started() -> None:
    producer = FakeProducer({"served": 1}, room=10)
    outputs = [_out("served", b"1", bytes([n]) * 4) for n in range(7)]
    deliveries = asyncio.run(send_all(producer, outputs))  # type: ignore[arg-type]
    assert [len(batch.records) for _, _, batch in producer.sent] == [2, 2, 2, 1]
    assert len(deliveries) == 4
    assert _by_partition(producer)[("served", 0)] == [out.value for out in outputs]


def test_a_record_too_large_for_any_batch_is_refused() -> None:
    producer = FakeProducer({"served": 1}, room=10)
    with pytest.raises(MessageSizeTooLargeError):
        asyncio.run(send_all(producer, [_out("served", b"1", b"x" * 11)]))  # type: ignore[arg-type]
