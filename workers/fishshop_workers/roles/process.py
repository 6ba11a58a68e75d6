"""One worker as a process: what ``fishshop till|preparer|cook`` runs (waiting for
Kafka and its topics, the metrics port, signals, a clean shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from fishshop_workers.errors import ServiceError
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.roles.http import MetricsServer
from fishshop_workers.roles.metrics import ShopMetrics
from fishshop_workers.roles.options import WorkerOptions

__all__ = ["Worker", "WorkerStartError", "run_process", "run_worker", "wait_for_topics"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkerStartError(ServiceError, RuntimeError):
    """The worker cannot begin; the message says what is missing."""


async def run_worker(
    name: str,
    work: Callable[[asyncio.Event], Awaitable[None]],
    registry: CollectorRegistry,
    metrics_port: int | None,
    ready: Callable[[], bool] = lambda: True,
    metrics_host: str = "0.0.0.0",  # noqa: S104 - pods are scraped from outside
) -> None:
    """Serve metrics and run ``work`` until SIGTERM or SIGINT sets its stop event.

    ``work`` finishes what it holds and returns when told to stop; a second
    signal stops it at once.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set() and task is not None:
            task.cancel()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
    server = None
    if metrics_port is not None:
        server = MetricsServer(registry, metrics_port, metrics_host, ready=ready)
        try:
            await server.start()
        except OSError as error:
            raise WorkerStartError(
                f"{name} cannot serve metrics on {metrics_host}:{metrics_port} "
                f"({error.strerror or error}): pass another --metrics-port "
                "(0 picks a free one)"
            ) from error
        log.info(
            "%s serves /metrics, /healthz and /readyz on %s:%d", name, server.host, server.port
        )
    try:
        await work(stop)
    finally:
        if server is not None:
            await server.stop()
        log.info("%s stopped", name)


class Worker(Protocol):
    """What a till, a preparer and a cook have in common."""

    async def run(self, stop: asyncio.Event) -> None: ...

    def ready(self) -> bool: ...


ATTEMPT_SECONDS = 30.0
"""One look for Kafka and the topics gives up after this long, and is tried again."""
WAIT_LOG_SECONDS = 30.0
"""While it waits for Kafka or its topics, a worker says so at most this often."""


async def _topics_ready(options: WorkerOptions, create_partitions: int | None) -> list[str]:
    """The shop's topics still missing (after creating them, when asked to)."""
    if create_partitions is not None:
        await ensure_topics(options.kafka, options.topics, create_partitions)
        return []
    admin = AIOKafkaAdminClient(**options.kafka.client_options())
    try:
        await admin.start()
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    return [name for name in options.topics if name not in existing]


async def wait_for_topics(
    options: WorkerOptions, create_partitions: int | None, stop: asyncio.Event
) -> bool:
    """Wait until Kafka answers and the shop's topics exist; False if told to stop first.

    A worker started while Kafka restarts, or before the operator made the topics,
    keeps serving /healthz (so its liveness probe does not kill it), reports not ready
    on /readyz, and says what it waits for.
    """
    backoff = 1.0
    loop = asyncio.get_running_loop()
    last_said = -WAIT_LOG_SECONDS
    while not stop.is_set():
        try:
            missing = await _unless_stopped(_topics_ready(options, create_partitions), stop)
            if missing is None:
                return False
            if not missing:
                return True
            problem = (
                "the shop's topics do not exist: "
                + ", ".join(missing)
                + "; waiting (apply the FishShop so the operator creates them, or pass "
                "--create-topics)"
            )
        except (KafkaError, OSError, TimeoutError) as error:
            problem = (
                f"cannot reach Kafka at {options.kafka.bootstrap_servers} "
                f"({type(error).__name__}: {error}); waiting"
            )
        if loop.time() - last_said >= WAIT_LOG_SECONDS:
            log.warning("%s", problem)
            last_said = loop.time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff)
        backoff = min(backoff * 2, 15.0)
    return False


async def _unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result, or None as soon as ``stop`` is set (a SIGTERM must not wait
    for a Kafka that drops packets); bounded to ``ATTEMPT_SECONDS`` either way."""
    attempt = asyncio.ensure_future(asyncio.wait_for(work, ATTEMPT_SECONDS))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({attempt, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not attempt.done():
        attempt.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await attempt
        return None
    return attempt.result()


def run_process(
    role: str,
    options: WorkerOptions,
    build: Callable[[ShopMetrics], Worker],
    metrics_port: int | None,
    create_partitions: int | None = None,
    metrics_host: str = "0.0.0.0",  # noqa: S104 - pods are scraped from outside
) -> int:
    """Serve metrics, wait for Kafka and the topics, then run the worker ``build``
    makes until a signal stops it."""
    registry = CollectorRegistry()
    worker = build(ShopMetrics(options.shop, role, options.worker_name, registry))

    async def work(stop: asyncio.Event) -> None:
        if await wait_for_topics(options, create_partitions, stop):
            await worker.run(stop)

    async def main() -> None:
        await run_worker(
            f"{role} {options.worker_name}",
            work,
            registry,
            metrics_port,
            worker.ready,
            metrics_host,
        )

    asyncio.run(main())
    return 0
