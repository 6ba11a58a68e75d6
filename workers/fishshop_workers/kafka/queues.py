"""The one queue count: how many records wait in each partition for a consumer group.

A group's lag (the end offset minus the committed offset) also counts the markers
that transactions leave in a partition, so a queue that is empty would still show
one. Up to ``EXACT_COUNT_LIMIT`` offsets behind, the records are read with
``read_committed`` (markers and aborted records are never returned) and counted;
beyond that, or for what a count cut short by its patience did not read, offsets
stand in (an overestimate, never an underestimate). The arithmetic is
``backlog.records_waiting``, the rule the workers' own lag follows too.

The operator's status and autoscaler count with ``count_waiting``; the live view
with ``QueueWatch``, which holds its clients open between reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.structs import TopicPartition

from fishshop_workers.kafka.backlog import first_waiting, read_to_the_end, records_waiting
from fishshop_workers.kafka.settings import KafkaSettings

__all__ = [
    "COUNT_PATIENCE",
    "EXACT_COUNT_LIMIT",
    "MARKER_PATIENCE",
    "QueueWatch",
    "Waiting",
    "committed_offsets",
    "count_waiting",
    "topic_partitions",
    "total",
]

MARKER_PATIENCE = 1.2
"""Seconds without a record, one offset short of the end, before the last offset is
taken for a transaction marker (a fetch long-polls for 0.5 s)."""
EXACT_COUNT_LIMIT = 5000
"""Up to this many offsets behind (in all of a topic's partitions), records are
counted one by one."""
COUNT_PATIENCE = 5.0
"""Seconds a record-by-record count may take; what is not read by then is taken from
offsets (an overestimate: markers count too), never left out."""


class Waiting(NamedTuple):
    """What waits in one partition (or, added up, in a topic)."""

    records: int
    estimated: bool = False
    """Some of ``records`` was taken from offsets, not counted record by record (a long
    queue, or a count that ran out of time): it may include transaction markers."""


def total(waiting: Iterable[Waiting]) -> Waiting:
    """Partitions' counts added up; estimated when any of them is."""
    records, estimated = 0, False
    for each in waiting:
        records += each.records
        estimated = estimated or each.estimated
    return Waiting(records, estimated)


async def topic_partitions(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
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


async def committed_offsets(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    """The group's committed offsets (the next offset it will take), where it has one."""
    offsets = await admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def count_waiting(
    consumer: AIOKafkaConsumer,
    topic: str,
    partitions: int,
    committed: Mapping[TopicPartition, int],
    *,
    limit: int | None = None,
    patience: float | None = None,
) -> dict[int, Waiting]:
    """Committed records of ``topic`` not yet taken by the group whose offsets are
    ``committed``, per partition (0 to ``partitions`` - 1).

    A partition the group has no offset for counts from its beginning: nobody has
    taken anything from it yet. ``consumer`` reads ``read_committed`` and commits
    nothing; it is assigned this topic's partitions. ``limit`` and ``patience`` are
    ``EXACT_COUNT_LIMIT`` and ``COUNT_PATIENCE`` unless given.
    """
    limit = EXACT_COUNT_LIMIT if limit is None else limit
    patience = COUNT_PATIENCE if patience is None else patience
    if partitions < 1:
        return {}  # a topic not there (yet, or deleted by hand): nothing waits in it
    assignment = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(assignment)
    # Paused at once, before the consumer's first fetch: the broker answers one request
    # per connection at a time, so a fetch's long poll (0.5 s) would hold up the
    # offset lookups behind it. Only partitions with records to read are resumed.
    consumer.pause(*assignment)
    ends = await consumer.end_offsets(assignment)
    beginnings = await consumer.beginning_offsets(assignment)
    starts = {tp: first_waiting(committed.get(tp), beginnings[tp]) for tp in assignment}
    gaps = {tp: records_waiting(0, ends[tp], starts[tp]) for tp in assignment}
    if sum(gaps.values()) > limit:
        return {tp.partition: Waiting(gaps[tp], gaps[tp] > 0) for tp in assignment}
    counted = dict.fromkeys(assignment, 0)
    pending = {tp for tp in assignment if gaps[tp] > 0}
    for tp in pending:
        consumer.seek(tp, starts[tp])
    consumer.resume(*pending)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    last_data = dict.fromkeys(pending, loop.time())
    while pending and loop.time() < deadline:
        batches = await consumer.getmany(*pending, timeout_ms=300)
        now = loop.time()
        for tp, records in batches.items():
            counted[tp] += sum(1 for r in records if r.offset < ends[tp])
            if records:
                last_data[tp] = now
        for tp in list(pending):
            position = await consumer.position(tp)
            if read_to_the_end(position, ends[tp], now - last_data[tp], MARKER_PATIENCE):
                pending.discard(tp)
                consumer.pause(tp)
    waiting = {tp.partition: Waiting(counted[tp]) for tp in assignment}
    for tp in pending:  # out of time: what is left unread counts by its offsets
        read_to = max(await consumer.position(tp), starts[tp])
        waiting[tp.partition] = Waiting(records_waiting(counted[tp], ends[tp], read_to), True)
    return waiting


class QueueWatch:
    """Follows topics and the groups that consume them; ``read`` counts what waits."""

    def __init__(self, settings: KafkaSettings, groups: Mapping[str, str]) -> None:
        self.settings = settings
        self.groups = dict(groups)
        """Each watched topic, with the consumer group that works through it."""
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=5000,
            **self.settings.client_options(),
        )
        self._admin = AIOKafkaAdminClient(**self.settings.client_options())
        try:
            await self._consumer.start()
            await self._admin.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        admin, self._admin = self._admin, None
        consumer, self._consumer = self._consumer, None
        if admin is not None:
            await admin.close()
        if consumer is not None:
            await consumer.stop()

    async def read(self, patience: float = 5.0) -> dict[str, dict[int, int]]:
        """Records waiting in each partition of each topic: ``{topic: {partition: n}}``.

        ``patience`` bounds the record-by-record counts of all the topics together.
        """
        consumer, admin = self._consumer, self._admin
        if consumer is None or admin is None:
            raise RuntimeError("the queue watch is not started")
        committed: dict[TopicPartition, int] = {}
        for group in set(self.groups.values()):
            committed.update(await committed_offsets(admin, group))
        partitions = await topic_partitions(admin, list(self.groups))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        counts: dict[str, dict[int, int]] = {}
        for topic in self.groups:
            waiting = await count_waiting(
                consumer,
                topic,
                partitions.get(topic, 0),
                committed,
                patience=max(0.0, deadline - loop.time()),
            )
            counts[topic] = {partition: each.records for partition, each in waiting.items()}
        return counts
