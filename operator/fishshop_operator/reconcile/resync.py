"""The resync loop: every known shop reconciled against Kafka at an interval.

Side by side up to the operator's concurrency, so that a shop whose Kafka does not
answer (20 s per call) holds up only itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile.shops import Key

__all__ = ["Visited", "resync_loop", "resync_round"]

log = logging.getLogger("fishshop_operator")


class Visited(Protocol):
    """What the loop needs of the Reconciler."""

    metrics: OperatorMetrics
    concurrency: int

    def watched(self) -> list[Key]: ...

    async def resync_round(self) -> None: ...

    async def reconcile_by_name(
        self, namespace: str, name: str, check_kafka: bool = False
    ) -> object: ...


async def resync_loop(shops: Visited, interval: float) -> None:
    """``shops.resync_round`` every ``interval`` seconds, until cancelled."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        # A round slowed by an unreachable Kafka is not followed by a full wait.
        await asyncio.sleep(max(0.0, began + interval - loop.time()))
        began = loop.time()
        try:
            await shops.resync_round()
        except Exception as error:  # the loop must outlive any round
            log.error("action=resync error=%r", error, exc_info=True)
        shops.metrics.resync_round_seconds.observe(loop.time() - began)


async def resync_round(shops: Visited) -> None:
    """Reconcile every shop the watch has shown once, ``concurrency`` at a time."""
    visits = asyncio.Semaphore(max(1, shops.concurrency))

    async def visit(namespace: str, name: str) -> None:
        async with visits:
            try:
                await shops.reconcile_by_name(namespace, name, check_kafka=True)
            except Exception as error:  # noqa: BLE001 - the loop must outlive any one shop
                log.warning("action=resync shop=%s/%s error=%r", namespace, name, error)

    await asyncio.gather(*(visit(namespace, name) for namespace, name in shops.watched()))
