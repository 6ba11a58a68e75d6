"""The cook: cooks what the preparers hand over and sends it back, ready."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiokafka.structs import TopicPartition

from fishshop_workers.exactly_once import ExactlyOnceLoop, Record
from fishshop_workers.kitchen import Incoming, cook_order, read_incoming, readable
from fishshop_workers.metrics import ShopMetrics
from fishshop_workers.outgoing import Outgoing
from fishshop_workers.routing import draw_seconds
from fishshop_workers.worker_options import WorkerOptions

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
    ) -> None:
        draw_seconds(random.Random(), settings.cook_min, settings.cook_max)
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
                cooked = cook_order(order, topics, self.options.worker_name, partitions)
                outputs.append(readable(cooked, incoming, topics))
        if cooking and self.settings.cook_max > 0:
            # Each partition's load goes in the fryer at once: one cooking time.
            await asyncio.sleep(
                draw_seconds(self.rng, self.settings.cook_min, self.settings.cook_max)
            )
        return outputs
