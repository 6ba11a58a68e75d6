"""Start one worker as a process: what ``fishshop till|preparer|cook`` runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from fishshop_workers.kafka_topics import ensure_topics
from fishshop_workers.metrics import ShopMetrics
from fishshop_workers.service import run_worker
from fishshop_workers.worker_options import WorkerOptions

__all__ = ["Worker", "WorkerStartError", "run_process"]

log = logging.getLogger(__name__)


class Worker(Protocol):
    """What a till, a preparer and a cook have in common."""

    async def run(self, stop: asyncio.Event) -> None: ...

    def ready(self) -> bool: ...


class WorkerStartError(RuntimeError):
    """The worker cannot begin; the message says what is missing."""


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


def run_process(
    role: str,
    options: WorkerOptions,
    build: Callable[[ShopMetrics], Worker],
    metrics_port: int | None,
    create_partitions: int | None = None,
    metrics_host: str = "0.0.0.0",  # noqa: S104 - pods are scraped from outside
) -> int:
    """Check the topics, then run the worker ``build`` makes until a signal stops it."""
    registry = CollectorRegistry()
    worker = build(ShopMetrics(options.shop, role, options.worker_name, registry))

    async def main() -> None:
        await _check_topics(options, create_partitions)
        await run_worker(
            f"{role} {options.worker_name}",
            worker.run,
            registry,
            metrics_port,
            worker.ready,
            metrics_host,
        )

    asyncio.run(main())
    return 0
