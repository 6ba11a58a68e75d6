"""A worker waiting for Kafka stops at once when told to."""

from __future__ import annotations

import asyncio
import time

from fishshop_workers.roles.process import _unless_stopped


async def test_a_stop_ends_a_look_for_kafka_that_hangs() -> None:
    stop = asyncio.Event()
    hung = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    assert await _unless_stopped(hung.wait(), stop) is None
    assert time.monotonic() - started < 2


async def test_an_answer_comes_back_when_no_stop_came() -> None:
    async def answer() -> list[str]:
        return ["fishshop.harbour.dlq"]

    assert await _unless_stopped(answer(), asyncio.Event()) == ["fishshop.harbour.dlq"]
