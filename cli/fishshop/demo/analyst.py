"""The demo's analyst: the shop's sink connector for the day, and the table's books.

The connector is created when the shop opens and deleted when it closes on a Connect
that outlives the demo (``servers.py`` says where PostgreSQL and Connect are).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fishshop.demo.servers import DemoAnalyst, say
from fishshop_workers.analyst.comparison import compare_table
from fishshop_workers.analyst.connect_client import ConnectClient, ConnectError
from fishshop_workers.analyst.connector import ConnectorKeeper
from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.analyst.sink import (
    analyst_dead_letter_topic,
    belongs_to,
    connector_name,
    shop_label,
    sink_connector_config,
)
from fishshop_workers.analyst.store import served_rows
from fishshop_workers.audit.auditor import Auditor
from fishshop_workers.audit.summary import Summary
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.spec import ShopSpec
from fishshop_workers.shop.topics import ShopTopics, topic_prefix

__all__ = ["Sink", "sink_for_the_day"]

CONNECTOR_PATIENCE = 90.0
"""Seconds for the connector's task to run: Connect loads the sink's plugin lazily."""
TABLE_PATIENCE = 60.0
"""Seconds for the table to catch up with the served topic once the shop drained."""


@dataclass
class Sink:
    """The shop's sink connector while the shop is open, and what it must copy."""

    analyst: DemoAnalyst
    spec: ShopSpec
    kafka: KafkaSettings
    topics: ShopTopics
    earlier: set[str] = field(default_factory=set)
    """Orders served on earlier days, before this demo (a broker of one's own)."""
    rows_before: set[str] = field(default_factory=set)
    """Rows of this shop in the table before the demo opened."""

    @property
    def shop(self) -> str:
        return shop_label(self.spec.name)

    async def served_before(self) -> None:
        """Note the orders the topics already hold, and the rows the table already
        holds for this shop (a PostgreSQL kept from an earlier demo): today's books
        compare only what today can account for."""
        await ensure_topics(self.kafka, self.topics, self.spec.partitions)
        auditor = Auditor(self.kafka, self.topics)
        await auditor.start()
        try:
            await auditor.catch_up()
            self.earlier = set(auditor.ledger.served_orders)
        finally:
            await auditor.stop()
        rows = await asyncio.to_thread(served_rows, self.analyst.postgres_url, self.shop)
        self.rows_before = set(rows)

    async def books(self, summary: Summary, patience: float = TABLE_PATIENCE) -> Summary:
        """``summary`` with the table compared to the served topic, once the sink
        has caught up (or ``patience`` seconds passed).

        Today's orders must each have their row. Rows of earlier days' orders are
        neither missing (the table may be new) nor extra (they were served).
        """
        auditor = Auditor(self.kafka, self.topics)
        await auditor.start()
        try:
            await auditor.catch_up()
            served = dict(auditor.ledger.served_orders)
            dead_letters = await auditor.records_in(analyst_dead_letter_topic(self.topics.prefix))
        finally:
            await auditor.stop()
        today = {k: v for k, v in served.items() if k not in self.earlier}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while True:
            rows = await asyncio.to_thread(served_rows, self.analyst.postgres_url, self.shop)
            # Rows an earlier demo left, of orders this broker never saw, are not
            # today's to account for.
            rows = {k: v for k, v in rows.items() if k in served or k not in self.rows_before}
            earlier = {k: served[k] for k in rows if k in self.earlier}
            books = compare_table({**earlier, **today}, rows)
            if books.clean or loop.time() >= deadline:
                books = dataclasses.replace(books, dead_letters=dead_letters or 0)
                return dataclasses.replace(summary, analyst=books)
            await asyncio.sleep(1.0)


async def _wait_until_running(client: ConnectClient, name: str, patience: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        status = await client.status(name)
        if status is not None and status.running:
            return
        failed = status.failed_tasks if status is not None else ()
        if failed:
            raise ConnectError(
                f"the sink connector {name} failed at {client.url}: {failed[0].reason}"
            )
        if loop.time() > deadline:
            state = "not there" if status is None else status.state
            raise ConnectError(
                f"the sink connector {name} did not run within {patience:.0f}s "
                f"at {client.url} (it is {state}); is Debezium's JDBC sink installed there?"
            )
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def sink_for_the_day(
    analyst: DemoAnalyst | None, spec: ShopSpec, kafka: KafkaSettings
) -> AsyncIterator[Sink | None]:
    """The shop's sink connector, created (or updated) and running for the block;
    deleted afterwards on a Connect that outlives the demo."""
    if analyst is None:
        yield None
        return
    prefix = topic_prefix(spec.name, chosen=spec.topic_prefix)
    topics = ShopTopics.from_prefix(prefix)
    address = DatabaseAddress.from_url(analyst.postgres_url)
    name = connector_name(prefix)
    config = sink_connector_config(
        shop=shop_label(spec.name),
        topic_prefix=prefix,
        database=address,
        replication_factor=analyst.replication_factor,
    )
    sink = Sink(analyst, spec, kafka, topics)
    await sink.served_before()
    async with ConnectClient(analyst.connect_url) as client:
        if not belongs_to(await client.config(name), sink.shop):
            raise ConnectError(
                f"a connector named {name} at {client.url} writes another shop's rows; "
                "fishshop leaves it alone: give this shop another name or topic prefix"
            )
        await client.put_config(name, config)
        say(f"sink connector {name} writes {topics.served} to {address.shown}")
        try:
            await _wait_until_running(client, name, CONNECTOR_PATIENCE)
            # While the shop is open, a task that fails (PostgreSQL restarted under
            # it) is restarted with backoff, as the operator does on Kubernetes.
            keeper = asyncio.create_task(ConnectorKeeper(client, name, config).watch())
            try:
                yield sink
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
        finally:
            if analyst.delete_connector:
                with contextlib.suppress(ConnectError):
                    await client.delete(name)
