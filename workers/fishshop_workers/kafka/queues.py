"""How many records wait in each partition, counted from the topics themselves.

A group's lag (the end offset minus the committed offset) also counts the
markers that transactions leave in a partition, so a queue that is empty would
still show one. This reads the records with ``read_committed`` (markers and
aborted records are never returned) and counts those at or past the consuming
group's committed offset.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from fishshop_workers.kafka.admin import describe_partitions
from fishshop_workers.kafka.settings import KafkaSettings

__all__ = ["QueueWatch"]


class QueueWatch:
    """Follows topics and the groups that consume them; ``read`` counts what waits."""

    def __init__(self, settings: KafkaSettings, groups: Mapping[str, str]) -> None:
        self.settings = settings
        self.groups = dict(groups)
        """Each watched topic, with the consumer group that works through it."""
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._waiting: dict[TopicPartition, deque[int]] = {}

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
        """Records waiting in each partition of each topic: ``{topic: {partition: n}}``."""
        consumer, admin = self._consumer, self._admin
        if consumer is None or admin is None:
            raise RuntimeError("the queue watch is not started")
        committed: dict[TopicPartition, int] = {}
        for group in set(self.groups.values()):
            offsets = await admin.list_consumer_group_offsets(group)
            committed.update({tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0})
        await self._follow(consumer, admin, committed)
        await self._read_to_end(consumer, patience)
        counts: dict[str, dict[int, int]] = {topic: {} for topic in self.groups}
        for tp, offsets in self._waiting.items():
            done = committed.get(tp, 0)
            while offsets and offsets[0] < done:
                offsets.popleft()
            counts[tp.topic][tp.partition] = len(offsets)
        return counts

    async def _follow(
        self,
        consumer: AIOKafkaConsumer,
        admin: AIOKafkaAdminClient,
        committed: Mapping[TopicPartition, int],
    ) -> None:
        """Assign every partition; a new one is read from its committed offset."""
        known = await describe_partitions(admin, list(self.groups))
        wanted = {TopicPartition(t, p) for t, count in known.items() for p in range(count)}
        new = wanted - set(self._waiting)
        if not new:
            return
        read_to = {tp: await consumer.position(tp) for tp in self._waiting}
        consumer.assign(sorted(wanted))
        for tp, offset in read_to.items():
            consumer.seek(tp, offset)
        for tp in new:
            self._waiting[tp] = deque()
            consumer.seek(tp, committed.get(tp, 0))

    async def _read_to_end(self, consumer: AIOKafkaConsumer, patience: float) -> None:
        partitions = list(self._waiting)
        ends = await consumer.end_offsets(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while loop.time() < deadline and await _behind(consumer, ends):
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                self._waiting[tp].extend(record.offset for record in records)


async def _behind(consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False
