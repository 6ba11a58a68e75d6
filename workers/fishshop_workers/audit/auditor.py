"""Read a shop's topics with ``read_committed`` and keep its ledger up to date."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from fishshop_workers.analyst.sink import analyst_dead_letter_topic
from fishshop_workers.audit.analyst_table import check_table
from fishshop_workers.audit.ledger import Ledger, with_cabinet
from fishshop_workers.audit.summary import Summary
from fishshop_workers.cabinet.decisions import conservation_gaps
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.errors import InputError
from fishshop_workers.kafka.admin import describe_partitions
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics

__all__ = ["Auditor", "TableToCheck", "audit"]


class ShopTopicsMissing(InputError, LookupError):
    """The shop's topics are not in this Kafka: a wrong shop name, prefix or address."""


class Auditor:
    """Follows orders, served and dlq from the beginning; ``catch_up`` reads
    whatever was committed since the last call."""

    def __init__(self, settings: KafkaSettings, topics: ShopTopics) -> None:
        self.settings = settings
        self.topics = topics
        self.ledger = Ledger()
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=5000,
            **self.settings.client_options(),
        )
        self._consumer = consumer
        # One admin connection for the auditor's life: catch_up looks for new
        # partitions every time, and the demo calls it every few seconds.
        self._admin = AIOKafkaAdminClient(**self.settings.client_options())
        try:
            await consumer.start()
            await self._admin.start()
            await self._assign()
        except BaseException:
            await self.stop()
            raise

    async def _assign(self) -> None:
        consumer = self._require()
        wanted = [self.topics.orders, self.topics.served, self.topics.dlq]
        known = await describe_partitions(self._require_admin(), wanted)
        missing = [name for name in wanted if name not in known]
        if missing:
            raise ShopTopicsMissing(
                "the shop's topics do not exist: "
                + ", ".join(missing)
                + " (is the shop name or --topic-prefix right?)"
            )
        partitions = [TopicPartition(topic, p) for topic in wanted for p in range(known[topic])]
        current = set(consumer.assignment())
        if set(partitions) != current:
            # assign() forgets positions: keep what was read, start new partitions
            # (a shop that grew) from the beginning.
            read_to = {tp: await consumer.position(tp) for tp in current}
            consumer.assign(partitions)
            for tp, offset in read_to.items():
                consumer.seek(tp, offset)
            new = [tp for tp in partitions if tp not in current]
            if new:
                await consumer.seek_to_beginning(*new)

    async def stop(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    def _require_admin(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            raise RuntimeError("the auditor is not started")
        return self._admin

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("the auditor is not started")
        return self._consumer

    async def catch_up(self, patience: float = 30.0) -> Summary:
        """Read up to the last committed record of every partition."""
        consumer = self._require()
        await self._assign()
        assignment = list(consumer.assignment())
        ends = await consumer.end_offsets(assignment)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while await self._behind(ends):
            if loop.time() > deadline:
                raise TimeoutError("could not read the shop's topics to the end")
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                for record in records:
                    self._add(tp.topic, record.value, record.headers)
        return self.ledger.summary()

    async def _behind(self, ends: dict[TopicPartition, int]) -> bool:
        consumer = self._require()
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return True
        return False

    def _add(
        self, topic: str, value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        if topic == self.topics.orders:
            self.ledger.add_order_record(value)
        elif topic == self.topics.served:
            self.ledger.add_served_record(value)
        else:
            reason = dict(headers).get("fishshop-reason", b"").decode(errors="replace")
            self.ledger.add_dead_letter(value, reason)

    async def records_in(self, topic: str) -> int | None:
        """Records kept in a topic written without transactions (such as Connect's
        dead-letter topic), or None when it does not exist."""
        found = await describe_partitions(self._require_admin(), [topic])
        if topic not in found:
            return None
        counter = AIOKafkaConsumer(enable_auto_commit=False, **self.settings.client_options())
        await counter.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(found[topic])]
            ends = await counter.end_offsets(partitions)
            starts = await counter.beginning_offsets(partitions)
            return int(sum(ends[tp] - starts[tp] for tp in partitions))
        finally:
            await counter.stop()

    async def settle(self, wait: float, poll: float = 1.0) -> Summary:
        """Read until no order is left unserved, or ``wait`` seconds pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        summary = await self.catch_up()
        while summary.unserved and loop.time() < deadline:
            await asyncio.sleep(min(poll, max(0.0, deadline - loop.time())))
            summary = await self.catch_up()
        return summary


@dataclass(frozen=True)
class TableToCheck:
    """The analyst's table to compare with the served topic: where, and which shop."""

    url: str
    shop: str


async def audit(
    settings: KafkaSettings,
    topics: ShopTopics,
    wait: float = 0.0,
    cabinet: HotCabinet | None = None,
    table: TableToCheck | None = None,
) -> Summary:
    """Every order's fate from the topics; with ``cabinet``, its books too; with
    ``table``, how the analyst's table agrees with the served topic."""
    auditor = Auditor(settings, topics)
    await auditor.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    try:
        summary = await auditor.settle(wait)
        if table is not None:
            left = max(0.0, deadline - loop.time())
            books = await check_table(auditor.ledger.served_orders, table.url, table.shop, left)
            dead = await auditor.records_in(analyst_dead_letter_topic(topics.prefix))
            summary = dataclasses.replace(
                summary, analyst=dataclasses.replace(books, dead_letters=dead or 0)
            )
    finally:
        await auditor.stop()
    if cabinet is None:
        return summary
    counts = await cabinet.counts()
    gaps = {str(item): gap for item, gap in conservation_gaps(counts).items()}
    return with_cabinet(summary, counts.summary(), gaps, auditor.ledger)
