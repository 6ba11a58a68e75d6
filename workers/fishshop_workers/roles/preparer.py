"""The preparer: takes orders from the orders topic, prepares and serves them,
and hands orders that need cooking to the cook."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka.structs import TopicPartition

from fishshop_workers.cabinet.decisions import Outcome, portions
from fishshop_workers.cabinet.keys import RecordKey
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.kafka.exactly_once import Record
from fishshop_workers.roles.kitchen_worker import KitchenWorker
from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.shop.kitchen import (
    Incoming,
    ServingStamp,
    hand_to_cook,
    read_incoming,
    readable,
    serve_stamped,
    to_cook,
)
from fishshop_workers.shop.menu import needs_cooking
from fishshop_workers.shop.order import Order
from fishshop_workers.shop.outgoing import Outgoing
from fishshop_workers.shop.roles import PREPARER
from fishshop_workers.shop.routing import draw_seconds

__all__ = ["Preparer", "PreparerSettings", "batch_size_for"]


@dataclass(frozen=True)
class PreparerSettings:
    """How long preparing one order takes, in seconds."""

    prep_min: float = 0.5
    prep_max: float = 1.0


def batch_size_for(slowest_seconds: float, budget_seconds: float = 5.0) -> int:
    """How many orders to take in one transaction so that it ends within budget."""
    if slowest_seconds <= 0:
        return 2000
    return max(1, min(2000, int(budget_seconds / slowest_seconds)))


class Preparer(KitchenWorker):
    """One preparer in the shop's consumer group.

    One order at a time (a preparer has one pair of hands), while the Kafka work
    of the partitions it owns goes on side by side.
    """

    def __init__(
        self,
        options: WorkerOptions,
        settings: PreparerSettings,
        metrics: ShopMetrics,
        rng: random.Random | None = None,
        *,
        cabinet: HotCabinet | None = None,
    ) -> None:
        draw_seconds(random.Random(), settings.prep_min, settings.prep_max)
        self.settings = settings
        self._hands = asyncio.Lock()
        batch = batch_size_for(settings.prep_max)
        super().__init__(
            options,
            metrics,
            rng,
            cabinet,
            topic=options.topics.orders,
            group=options.preparers_group,
            role=PREPARER,
            max_records=batch,
            work_seconds=batch * settings.prep_max,
        )

    async def _handle(self, tp: TopicPartition, records: Sequence[Record]) -> list[Outgoing]:
        topics = self.options.topics
        outputs: list[Outgoing] = []
        preparing = self.settings.prep_max > 0
        # Without a prep time the whole batch is served at once: one clock reading.
        stamp = ServingStamp.of(datetime.now(UTC), self.options.worker_name)
        for record in records:
            incoming = Incoming(tp.topic, tp.partition, record.offset, record.key, record.value)
            order = read_incoming(incoming, topics)
            if isinstance(order, Outgoing):
                outputs.append(order)
                continue
            if self.cabinet is not None:
                if not await self._from_cabinet(tp, record.offset, order):
                    outputs.append(readable(hand_to_cook(order, topics), incoming, topics))
                    continue
            else:
                handed_over = to_cook(order, topics)
                if handed_over is not None:
                    outputs.append(readable(handed_over, incoming, topics))
                    continue
            if preparing:
                async with self._hands:
                    await asyncio.sleep(
                        draw_seconds(self.rng, self.settings.prep_min, self.settings.prep_max)
                    )
                stamp = ServingStamp.of(datetime.now(UTC), self.options.worker_name)
            outputs.append(readable(serve_stamped(order, topics, stamp), incoming, topics))
        await self._show_cabinet()
        return outputs

    async def _from_cabinet(self, tp: TopicPartition, offset: int, order: Order) -> bool:
        """Ask the cabinet for an order's portions: True to serve, False for the cook.

        One atomic decision per consumed record, remembered in Redis, so a record
        read again after a crash gets the same answer and moves nothing twice.
        """
        cabinet, metrics = self.cabinet, self.cabinet_metrics
        if cabinet is None or metrics is None:
            raise RuntimeError("this preparer has no hot cabinet")
        record = RecordKey(PREPARER, tp.topic, tp.partition, offset)
        if order.ready:
            await self._at_cabinet(cabinet.serve_set_aside(record, order.id))
            return True
        decision = await self._at_cabinet(cabinet.take(record, order.id, portions(order.parts)))
        serve = decision.outcome is Outcome.SERVE
        if not decision.replayed:
            if serve:
                metrics.served_from_cabinet.labels(metrics.shop).inc()
            elif not needs_cooking(order.parts):
                metrics.short.labels(metrics.shop).inc()
        return serve
