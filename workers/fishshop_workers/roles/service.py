"""Run one worker as a process: metrics port, signals, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry

from fishshop_workers.errors import ServiceError
from fishshop_workers.roles.http import MetricsServer

__all__ = ["WorkerStartError", "run_worker"]

log = logging.getLogger(__name__)


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
