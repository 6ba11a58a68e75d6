"""What a preparer and a cook share: a place in a consumer group, exactly once, and
the hot cabinet when the shop has one."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiokafka.structs import TopicPartition

from fishshop_workers.cabinet.errors import CabinetConflict, CabinetStale, CabinetUnavailable
from fishshop_workers.cabinet.keys import RecordKey
from fishshop_workers.cabinet.metrics import CabinetMetrics
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.kafka.exactly_once import ExactlyOnceLoop, Record, StoreUnavailable
from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions
from fishshop_workers.shop.outgoing import Outgoing
from fishshop_workers.shop.roles import KitchenRole

__all__ = ["KitchenWorker"]

T = TypeVar("T")


class KitchenWorker:
    """One member of a kitchen role's consumer group: its loop, metrics and cabinet."""

    def __init__(
        self,
        options: WorkerOptions,
        metrics: ShopMetrics,
        rng: random.Random | None,
        cabinet: HotCabinet | None,
        *,
        topic: str,
        group: str,
        role: KitchenRole,
        max_records: int,
        work_seconds: float,
    ) -> None:
        self.options = options
        self.metrics = metrics
        self.rng = rng or random.Random()
        self.role = role
        self.cabinet = cabinet
        """The shop's hot cabinet; None: food appears as it is needed."""
        self.cabinet_metrics = (
            CabinetMetrics(metrics.shop, metrics.registry) if cabinet is not None else None
        )
        self.on_committed: Callable[[Sequence[Outgoing]], None] | None = None
        """Optional: told what each committed transaction wrote (the live view shows it)."""
        self.loop = ExactlyOnceLoop(
            options.kafka,
            topic,
            group,
            self._handle,
            on_committed=self._committed,
            on_aborted=metrics.count_aborted,
            max_records=max_records,
            work_seconds=work_seconds,
            on_lag=lambda tp, lag: metrics.set_lag(tp.topic, tp.partition, lag),
            after_commit=self._forget_decisions if cabinet is not None else None,
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
        raise NotImplementedError

    async def _forget_decisions(self, tp: TopicPartition, committed: int) -> None:
        """The cabinet needs no decision of a committed record any more."""
        if self.cabinet is not None:
            await self.cabinet.forget(RecordKey(self.role, tp.topic, tp.partition, committed))

    async def _at_cabinet(self, call: Awaitable[T]) -> T:
        """A call to the cabinet; a Redis that is away stops the worker taking orders
        (``StoreUnavailable``) until it answers again."""
        try:
            return await call
        except (CabinetUnavailable, CabinetConflict, CabinetStale) as error:
            raise StoreUnavailable(str(error)) from error

    async def _show_cabinet(self) -> None:
        """The cabinet's counts on the worker's metrics, after each batch."""
        if self.cabinet is None or self.cabinet_metrics is None:
            return
        self.cabinet_metrics.show(await self._at_cabinet(self.cabinet.counts()))
