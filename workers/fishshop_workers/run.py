"""Start one worker as a process: what ``fishshop till|preparer|cook`` runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from fishshop_workers.cook import Cook, CookSettings
from fishshop_workers.kafka_topics import ensure_topics
from fishshop_workers.metrics import ShopMetrics
from fishshop_workers.preparer import Preparer, PreparerSettings
from fishshop_workers.service import run_worker
from fishshop_workers.till import Till, TillSettings
from fishshop_workers.worker_options import WorkerOptions

__all__ = ["WorkerStartError", "run_cook", "run_preparer", "run_till"]

log = logging.getLogger(__name__)


class WorkerStartError(RuntimeError):
    """The worker cannot begin; the message says what is missing."""


async def _check_topics(options: WorkerOptions, create_partitions: int | None) -> None:
    if create_partitions is not None:
        await ensure_topics(options.kafka, options.topics, create_partitions)
        return
    existing = await _list_topics(options)
    missing = [name for name in options.topics if name not in existing]
    if missing:
        raise WorkerStartError(
            "the shop's topics do not exist: "
            + ", ".join(missing)
            + ". Apply the FishShop so the operator creates them, or pass "
            "--create-topics."
        )


async def _list_topics(options: WorkerOptions) -> set[str]:
    """Topic names; waits for Kafka while it is unreachable (it may be restarting)."""
    backoff = 1.0
    while True:
        admin = AIOKafkaAdminClient(**options.kafka.client_options())
        try:
            await admin.start()
            return set(await admin.list_topics())
        except KafkaError as error:
            log.warning(
                "cannot reach Kafka at %s (%s); trying again in %.0fs",
                options.kafka.bootstrap_servers,
                error,
                backoff,
            )
        finally:
            await admin.close()
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 15.0)


def _start(
    options: WorkerOptions,
    role: str,
    metrics_port: int | None,
    create_partitions: int | None,
    make: Callable[
        [ShopMetrics], tuple[Callable[[asyncio.Event], Awaitable[None]], Callable[[], bool]]
    ],
) -> int:
    registry = CollectorRegistry()
    metrics = ShopMetrics(options.shop, role, options.worker_name, registry)
    work, healthy = make(metrics)

    async def main() -> None:
        await _check_topics(options, create_partitions)
        await run_worker(f"{role} {options.worker_name}", work, registry, metrics_port, healthy)

    asyncio.run(main())
    return 0


def run_till(
    options: WorkerOptions,
    settings: TillSettings,
    metrics_port: int | None,
    create_partitions: int | None = None,
) -> int:
    def make(
        metrics: ShopMetrics,
    ) -> tuple[Callable[[asyncio.Event], Awaitable[None]], Callable[[], bool]]:
        till = Till(options, settings, metrics)
        return till.run, lambda: till.connected

    return _start(options, "till", metrics_port, create_partitions, make)


def run_preparer(
    options: WorkerOptions,
    settings: PreparerSettings,
    metrics_port: int | None,
    create_partitions: int | None = None,
) -> int:
    def make(
        metrics: ShopMetrics,
    ) -> tuple[Callable[[asyncio.Event], Awaitable[None]], Callable[[], bool]]:
        preparer = Preparer(options, settings, metrics)
        return preparer.run, lambda: preparer.loop.connected

    return _start(options, "preparer", metrics_port, create_partitions, make)


def run_cook(
    options: WorkerOptions,
    settings: CookSettings,
    metrics_port: int | None,
    create_partitions: int | None = None,
) -> int:
    def make(
        metrics: ShopMetrics,
    ) -> tuple[Callable[[asyncio.Event], Awaitable[None]], Callable[[], bool]]:
        cook = Cook(options, settings, metrics)
        return cook.run, lambda: cook.loop.connected

    return _start(options, "cook", metrics_port, create_partitions, make)
