"""The cook: cooks what the preparers hand over and sends it back, ready."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka.structs import TopicPartition

from fishshop_workers.cabinet.decisions import CabinetSettings, portions
from fishshop_workers.cabinet.keys import RecordKey
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.kafka.exactly_once import Record
from fishshop_workers.roles.kitchen_worker import KitchenWorker
from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.shop.kitchen import Incoming, cook_order, read_incoming, readable
from fishshop_workers.shop.order import Order
from fishshop_workers.shop.outgoing import Outgoing
from fishshop_workers.shop.roles import COOK
from fishshop_workers.shop.routing import draw_seconds

__all__ = ["FRYER_PORTIONS", "Cook", "CookSettings"]

FRYER_PORTIONS = 8
"""The fryer cooks this many orders at once; a batch takes one cooking time."""


@dataclass(frozen=True)
class CookSettings:
    """How long a fryer load takes to cook, in seconds."""

    cook_min: float = 3.0
    cook_max: float = 3.2


class Cook(KitchenWorker):
    """One cook in the shop's cooks group: fries a load of orders at a time."""

    def __init__(
        self,
        options: WorkerOptions,
        settings: CookSettings,
        metrics: ShopMetrics,
        rng: random.Random | None = None,
        *,
        cabinet: HotCabinet | None = None,
        cabinet_settings: CabinetSettings | None = None,
    ) -> None:
        draw_seconds(random.Random(), settings.cook_min, settings.cook_max)
        self.settings = settings
        self.cabinet_settings = cabinet_settings or CabinetSettings()
        super().__init__(
            options,
            metrics,
            rng,
            cabinet,
            topic=options.topics.cook,
            group=options.cooks_group,
            role=COOK,
            max_records=FRYER_PORTIONS if settings.cook_max > 0 else 500,
            work_seconds=settings.cook_max,
        )

    async def _handle(self, tp: TopicPartition, records: Sequence[Record]) -> list[Outgoing]:
        topics = self.options.topics
        partitions = await self.loop.partitions_of(topics.orders)
        outputs: list[Outgoing] = []
        cooking = False
        for record in records:
            incoming = Incoming(tp.topic, tp.partition, record.offset, record.key, record.value)
            order = read_incoming(incoming, topics)
            if isinstance(order, Outgoing):
                outputs.append(order)
            else:
                cooking = True
                await self._fry(tp, record.offset, order)
                cooked = cook_order(order, topics, self.options.worker_name, partitions)
                outputs.append(readable(cooked, incoming, topics))
        if cooking and self.settings.cook_max > 0:
            # Each partition's load goes in the fryer at once: one cooking time.
            await asyncio.sleep(
                draw_seconds(self.rng, self.settings.cook_min, self.settings.cook_max)
            )
        await self._show_cabinet()
        return outputs

    async def _fry(self, tp: TopicPartition, offset: int, order: Order) -> None:
        """With a cabinet: fry what the order needs, set it aside for it, and fry a
        batch of cod or chips that runs low; once per consumed record."""
        if self.cabinet is None or self.cabinet_metrics is None:
            return
        record = RecordKey(COOK, tp.topic, tp.partition, offset)
        fried = await self._at_cabinet(
            self.cabinet.fry(record, order.id, portions(order.parts), self.cabinet_settings)
        )
        self.cabinet_metrics.count_fried(fried)
