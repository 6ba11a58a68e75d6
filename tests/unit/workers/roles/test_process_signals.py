"""A worker whose metrics port is taken says so plainly."""

from __future__ import annotations

import asyncio
import socket

import pytest
from prometheus_client import CollectorRegistry

from fishshop_workers.roles.process import WorkerStartError, run_worker


async def test_a_taken_metrics_port_is_a_clear_start_error() -> None:
    worked = False

    async def work(stop: asyncio.Event) -> None:
        nonlocal worked
        worked = True

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WorkerStartError, match=rf"127.0.0.1:{port} .*another --metrics-port"):
            await run_worker("cook 1", work, CollectorRegistry(), port, metrics_host="127.0.0.1")
    assert not worked
