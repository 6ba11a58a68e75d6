"""ConnectClient against a Connect that a hostile tenant runs: huge, slow, redirecting
and foreign answers end as a short ConnectError, never a crash or a leak."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from fishshop_workers.analyst.connect_client import ConnectClient, ConnectError

SECRET = "s3cret-admin-token"
ADMIN_CALLS: list[str] = []
"""Requests that reached the fake's internal admin endpoint."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def fake_connect() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start a one-route HTTP server on loopback that answers with ``handler``; its
    admin endpoint counts the calls that reach it."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()

        async def admin(request: web.Request) -> web.Response:
            ADMIN_CALLS.append(request.method)
            return web.json_response({"message": f"token {SECRET}"})

        app.router.add_route("*", "/admin", admin)
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_a_huge_answer_is_refused_after_a_bounded_read(fake_connect) -> None:  # type: ignore[no-untyped-def]
    sent = 0

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b"[" + b'"x",' * 65536
        try:
            for _ in range(500):  # 120 MiB if it were all read
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    url = await fake_connect(huge)
    tracemalloc.start()
    try:
        async with ConnectClient(url, timeout=10) as client:
            with pytest.raises(ConnectError) as caught:
                await client.status("shop.analyst")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "more than 1048576 bytes" in str(caught.value)
    assert peak < 16 * 1024 * 1024
    assert sent < 60 * 1024 * 1024


async def test_a_redirect_is_not_followed_and_the_target_never_called(fake_connect) -> None:  # type: ignore[no-untyped-def]
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/admin")

    url = await fake_connect(redirect)
    ADMIN_CALLS.clear()
    async with ConnectClient(url) as client:
        with pytest.raises(ConnectError) as caught:
            await client.put_config("shop.analyst", {"connector.class": "x"})
    message = str(caught.value)
    assert "redirect (307)" in message
    assert SECRET not in message
    assert caught.value.status == 307
    assert ADMIN_CALLS == []


async def test_an_error_body_is_never_echoed(fake_connect) -> None:  # type: ignore[no-untyped-def]
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=500, text=f"<html>internal admin {SECRET}</html>" * 50)

    url = await fake_connect(refuse)
    async with ConnectClient(url) as client:
        with pytest.raises(ConnectError) as caught:
            await client.status("shop.analyst")
    assert SECRET not in str(caught.value)
    assert "bytes that are not Kafka Connect's error document" in str(caught.value)


async def test_connects_own_error_message_is_one_short_line(fake_connect) -> None:  # type: ignore[no-untyped-def]
    forged = "bad config\n2026-12-03 INFO action=status shop=other/shop ready=True " + "x" * 500

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error_code": 400, "message": forged}, status=400)

    url = await fake_connect(refuse)
    async with ConnectClient(url) as client:
        with pytest.raises(ConnectError) as caught:
            await client.put_config("shop.analyst", {})
    message = str(caught.value)
    assert "\n" not in message
    assert "bad config 2026-12-03 INFO" in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("path", "answer", "call"),
    [
        ("config", ["not", "a", "config"], "config"),
        ("status", {"connector": {"state": "RUNNING"}, "tasks": [{"id": "zero"}]}, "status"),
        ("status", ["a list"], "status"),
        ("status", {"connector": "RUNNING", "tasks": {}}, "status"),
        ("connectors", {"not": "a list"}, "connectors"),
    ],
)
async def test_an_answer_that_is_not_connects_is_refused(fake_connect, path, answer, call) -> None:  # type: ignore[no-untyped-def]
    async def foreign(request: web.Request) -> web.Response:
        return web.json_response(answer)

    url = await fake_connect(foreign)
    async with ConnectClient(url) as client:
        ask = client.connectors() if call == "connectors" else getattr(client, call)("shop.analyst")
        with pytest.raises(ConnectError) as caught:
            await ask
    assert "not Kafka Connect's" in str(caught.value)


async def test_a_status_says_little_of_a_long_state(fake_connect) -> None:  # type: ignore[no-untyped-def]
    async def wordy(request: web.Request) -> web.Response:
        tasks = [{"id": i, "state": "RUNNING\n" * 100} for i in range(1000)]
        return web.json_response(
            {"name": "n", "connector": {"state": "X" * 10_000}, "tasks": tasks}
        )

    url = await fake_connect(wordy)
    async with ConnectClient(url) as client:
        status = await client.status("shop.analyst")
    assert status is not None
    assert len(status.state) <= 40
    assert len(status.tasks) == 256
    assert all("\n" not in task.state and len(task.state) <= 40 for task in status.tasks)


async def test_a_slow_answer_is_cut_off_at_the_deadline(fake_connect) -> None:  # type: ignore[no-untyped-def]
    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            for _ in range(100):
                await response.write(b" ")
                await asyncio.sleep(0.1)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    url = await fake_connect(drip)
    began = time.monotonic()
    async with ConnectClient(url, timeout=1.0) as client:
        with pytest.raises(ConnectError) as caught:
            await client.status("shop.analyst")
    assert time.monotonic() - began < 3.0
    assert "unreachable" in str(caught.value)
