"""The till: takes customers' orders and writes them to its partition of orders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.shop.menu import draw_parts
from fishshop_workers.shop.order import (
    MAX_ORDER_NUMBER,
    Order,
    encode_order,
    format_time,
    highest_number,
    new_order_id,
)
from fishshop_workers.shop.routing import partition_for_till

__all__ = ["Till", "TillSettings", "carry_on_from", "next_gap", "next_number"]

log = logging.getLogger(__name__)

RESUME_LOOKBACK = 2000
"""Records at the end of its partition a starting till reads for its last number."""


@dataclass(frozen=True)
class TillSettings:
    """A till's number and pace.

    ``orders_per_minute`` 0 takes orders as fast as Kafka accepts them (for
    benchmarks); ``max_orders`` stops the till after that many (0: never).
    """

    number: int = 1
    orders_per_minute: float = 40.0
    plaice: bool = False
    max_orders: int = 0


def next_number(last: int) -> int:
    """The next customer's number; after the highest a reader accepts, 1 again."""
    return last % MAX_ORDER_NUMBER + 1


def carry_on_from(highest_found: int, partition_end: int, read_whole: bool) -> int:
    """The number a starting till carries on from (see ``Till._last_called``)."""
    if highest_found or read_whole:
        return highest_found
    return min(partition_end, MAX_ORDER_NUMBER)


def next_gap(rng: random.Random, orders_per_minute: float) -> float:
    """Seconds until the next customer: customers arrive at random (Poisson)."""
    if orders_per_minute <= 0:
        return 0.0
    return rng.expovariate(orders_per_minute / 60.0)


class Till:
    def __init__(
        self,
        options: WorkerOptions,
        settings: TillSettings,
        metrics: ShopMetrics,
        rng: random.Random | None = None,
    ) -> None:
        if settings.number < 1:
            raise ValueError(f"till numbers start at 1, not {settings.number}")
        self.options = options
        self.settings = settings
        self.metrics = metrics
        self.rng = rng or random.Random()
        self.orders_taken = 0
        """Orders this till has taken since it started."""
        self.last_number = 0
        """The customer number last called: carries on across restarts."""
        self.connected = False
        self.partition: int | None = None
        """The partition of orders this till writes, once it knows how many there are."""
        self.on_taken: Callable[[Order], None] | None = None
        """Optional: told of each order once Kafka has it (the live view shows it)."""
        self._created = metrics.orders_created.labels(metrics.shop, str(settings.number))
        self._failed = 0

    def ready(self) -> bool:
        """Connected to Kafka: what /readyz reports."""
        return self.connected

    async def run(self, stop: asyncio.Event) -> None:
        """Take orders until ``stop`` is set or ``max_orders`` is reached.

        While Kafka is away the till waits and reconnects; customers who came
        meanwhile were turned away (their orders were never created).
        """
        backoff = 1.0
        while not stop.is_set():
            try:
                await self._take_orders(stop)
                return
            except KafkaError as error:
                log.warning(
                    "till %d lost Kafka (%s); reconnecting in %.0fs",
                    self.settings.number,
                    error,
                    backoff,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 15.0)

    async def _take_orders(self, stop: asyncio.Event) -> None:
        producer = AIOKafkaProducer(
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=256 * 1024,
            **self.options.kafka.client_options(),
        )
        topic = self.options.topics.orders
        try:
            await producer.start()
            self.connected = True
            partitions = len(await producer.partitions_for(topic))
            partition = partition_for_till(self.settings.number, partitions)
            self.partition = partition
            key = str(self.settings.number).encode()
            self.last_number = await self._last_called(topic, partition)
            loop = asyncio.get_running_loop()
            refreshed = loop.time()
            tray = _Tray(producer)
            while not stop.is_set():
                limit = self.settings.max_orders
                if limit and self.orders_taken >= limit:
                    break
                gap = next_gap(self.rng, self.settings.orders_per_minute)
                if gap > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), gap)
                        break
                    except TimeoutError:
                        pass
                if loop.time() - refreshed > 5:
                    await self._hand_over(tray, topic, partition)  # taken for the old one
                    partitions = len(await producer.partitions_for(topic))
                    partition = partition_for_till(self.settings.number, partitions)
                    self.partition = partition
                    refreshed = loop.time()
                order = self._next_order()
                value = encode_order(order)
                if not tray.add(order, key, value):
                    await self._hand_over(tray, topic, partition)
                    if not tray.add(order, key, value):
                        raise KafkaError(f"an order of {len(value)} bytes fits no batch")
                if gap > 0:  # at a customer's pace every order goes at once
                    await self._hand_over(tray, topic, partition)
            await self._hand_over(tray, topic, partition)
            await producer.flush()
        finally:
            self.connected = False
            # Bounded: with Kafka away, stop() would wait for undeliverable batches.
            with contextlib.suppress(TimeoutError, KafkaError):
                await asyncio.wait_for(producer.stop(), 30)

    async def _last_called(self, topic: str, partition: int) -> int:
        """The highest number this till called, from the end of its partition.

        If none of the till's orders are in what it read, and what it read is not the
        partition's whole history (retention deleted the start, or other tills wrote
        the whole tail), it carries on from the partition's end offset: its numbers so
        far cannot exceed the records the partition ever held, so no customer hears a
        number twice. A till new to a partition read whole starts at 1.
        """
        consumer = AIOKafkaConsumer(enable_auto_commit=False, **self.options.kafka.client_options())
        await consumer.start()
        try:
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            end = (await consumer.end_offsets([tp]))[tp]
            first = (await consumer.beginning_offsets([tp]))[tp]
            start = max(first, end - RESUME_LOOKBACK)
            consumer.seek(tp, start)
            values: list[bytes | None] = []
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                values.extend(record.value for record in batch.get(tp, []))
            whole = start == 0
            return carry_on_from(highest_number(values, self.settings.number), end, whole)
        finally:
            await consumer.stop()

    def _next_order(self) -> Order:
        self.orders_taken += 1
        self.last_number = next_number(self.last_number)
        return Order(
            id=new_order_id(),
            number=self.last_number,
            till=self.settings.number,
            parts=tuple(draw_parts(self.rng, self.settings.plaice)),
            created_at=format_time(datetime.now(UTC)),
        )

    async def _hand_over(self, tray: _Tray, topic: str, partition: int) -> None:
        """Give Kafka the orders on the tray, as one batch."""
        if not tray.orders:
            return
        builder, orders = tray.take()
        future = await tray.producer.send_batch(builder, topic, partition=partition)
        # Not awaited: the producer sends on, and its buffer pushes back.
        future.add_done_callback(partial(self._delivered, orders))

    def _delivered(self, orders: list[Order], future: asyncio.Future[object]) -> None:
        """Count the orders once Kafka has them, and tell whoever watches the till."""
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            self._failed += len(orders)
            log.warning(
                "till %d could not write %d orders: %s", self.settings.number, len(orders), error
            )
            return
        self._created.inc(len(orders))
        if self.on_taken is not None:
            for order in orders:
                self.on_taken(order)


class _Tray:
    """Orders taken and not yet given to Kafka, packed as one batch.

    A till taking orders as fast as Kafka accepts them fills a batch per call to
    Kafka instead of making one call per order; at a customer's pace each order
    leaves alone, at once.
    """

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.orders: list[Order] = []
        self._batch = producer.create_batch()

    def add(self, order: Order, key: bytes, value: bytes) -> bool:
        """Put an order on the tray; False if the batch is full."""
        if self._batch.append(timestamp=None, key=key, value=value, headers=[]) is None:
            return False
        self.orders.append(order)
        return True

    def take(self) -> tuple[Any, list[Order]]:
        """The batch and its orders; the tray starts a new one."""
        taken = self._batch, self.orders
        self._batch, self.orders = self.producer.create_batch(), []
        return taken
