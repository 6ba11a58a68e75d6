"""The cook: cooks what the preparers hand over and sends it back, ready."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiokafka.structs import TopicPartition

from fishshop_workers.cabinet.decisions import CabinetSettings, portions
from fishshop_workers.cabinet.errors import CabinetConflict, CabinetUnavailable
from fishshop_workers.cabinet.keys import RecordKey
from fishshop_workers.cabinet.metrics import CabinetMetrics
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.kafka.exactly_once import ExactlyOnceLoop, Record, StoreUnavailable
from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.shop.kitchen import Incoming, cook_order, read_incoming, readable
from fishshop_workers.shop.order import Order
from fishshop_workers.shop.outgoing import Outgoing
from fishshop_workers.shop.routing import draw_seconds

__all__ = ["FRYER_PORTIONS", "Cook", "CookSettings"]

FRYER_PORTIONS = 8
"""The fryer cooks this many orders at once; a batch takes one cooking time."""


@dataclass(frozen=True)
class CookSettings:
    """How long a fryer load takes to cook, in seconds."""

    cook_min: float = 3.0
    cook_max: float = 3.2


class Cook:
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
        self.cabinet = cabinet
        """The hot cabinet the cook keeps stocked; None: the cook only cooks plaice."""
        self.cabinet_settings = cabinet_settings or CabinetSettings()
        self.cabinet_metrics = (
            CabinetMetrics(metrics.shop, metrics.registry) if cabinet is not None else None
        )
        self.options = options
        self.settings = settings
        self.metrics = metrics
        self.rng = rng or random.Random()
        self.on_committed: Callable[[Sequence[Outgoing]], None] | None = None
        """Optional: told what each committed transaction wrote (the live view shows it)."""
        self.loop = ExactlyOnceLoop(
            options.kafka,
            options.topics.cook,
            options.cooks_group,
            self._handle,
            on_committed=self._committed,
            on_aborted=metrics.count_aborted,
            max_records=FRYER_PORTIONS if settings.cook_max > 0 else 500,
            work_seconds=settings.cook_max,
            on_lag=lambda tp, lag: metrics.set_lag(tp.topic, tp.partition, lag),
        )

    def ready(self) -> bool:
        """Connected to Kafka: what /readyz reports."""
        return self.loop.connected

    async def run(self, stop: asyncio.Event) -> None:
        await self.loop.run(stop)

    def _committed(self, outputs: list[Outgoing]) -> None:
        self.metrics.count_committed(outputs)
        if self.on_committed is not None:
            self.on_committed(outputs)

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
        if self.cabinet is not None and self.cabinet_metrics is not None:
            try:
                self.cabinet_metrics.show(await self.cabinet.counts())
            except CabinetUnavailable as error:
                raise StoreUnavailable(str(error)) from error
        return outputs

    async def _fry(self, tp: TopicPartition, offset: int, order: Order) -> None:
        """With a cabinet: fry what the order needs, set it aside for it, and fry a
        batch of cod or chips that runs low; once per consumed record."""
        if self.cabinet is None or self.cabinet_metrics is None:
            return
        record = RecordKey("cook", tp.topic, tp.partition, offset)
        try:
            fried = await self.cabinet.fry(
                record, order.id, portions(order.parts), self.cabinet_settings
            )
        except (CabinetUnavailable, CabinetConflict) as error:
            raise StoreUnavailable(str(error)) from error
        self.cabinet_metrics.count_fried(fried)
