"""Unit tests for fishshop_operator.endpoints: a shop's Connect, Redis or PostgreSQL is
never called on loopback, link-local or metadata addresses unless an admin allows it.
A real HTTP server on loopback counts what reaches it: nothing does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from fishshop_operator.analyst.connector import delete_connector
from fishshop_operator.endpoints import (
    EndpointRefused,
    GuardedResolver,
    allow_local_endpoints,
    check_endpoint,
    refusal,
)
from fishshop_workers.analyst.connect_client import ConnectClient, ConnectError


@pytest.fixture(autouse=True)
def refusing() -> Iterator[None]:
    allow_local_endpoints(False)
    yield
    allow_local_endpoints(False)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.100.100.200", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_local_and_metadata_addresses_are_refused(address: str, reason: str) -> None:
    said = refusal(address)
    assert said is not None and reason in said


@pytest.mark.parametrize(
    "address", ["10.96.0.10", "172.16.4.2", "192.168.1.20", "203.0.113.7", "2001:db8::1", "kafka"]
)
def test_cluster_and_private_addresses_are_allowed(address: str) -> None:
    assert refusal(address) is None


async def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(EndpointRefused, match=r"localhost \((127\.0\.0\.1|::1)\) is a loopback"):
        await check_endpoint("localhost", 8083, "spec.analyst.connectUrl")


async def test_a_literal_is_refused_and_the_message_says_where_and_what_to_do() -> None:
    with pytest.raises(EndpointRefused) as caught:
        await check_endpoint("[::1]", 6379, "spec.hotCabinet.redisUrl")
    assert str(caught.value).startswith("spec.hotCabinet.redisUrl: ::1 is a loopback address")
    assert "--local-endpoints allow" in str(caught.value)


async def test_an_admin_may_allow_local_endpoints() -> None:
    allow_local_endpoints(True)
    await check_endpoint("127.0.0.1", 8083, "spec.analyst.connectUrl")
    await check_endpoint("localhost", 8083, "spec.analyst.connectUrl")


async def test_a_name_that_does_not_resolve_is_left_to_the_client() -> None:
    await check_endpoint("no-such-host.invalid", 8083, "spec.analyst.connectUrl")


@pytest.fixture
async def loopback_connect() -> AsyncIterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that answers like Connect and records each request."""
    seen: list[str] = []

    async def anything(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path}")
        return web.json_response({"name": "x", "config": {}, "tasks": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def test_deleting_a_connector_on_loopback_sends_nothing(
    loopback_connect: tuple[str, list[str]],
) -> None:
    url, seen = loopback_connect
    with pytest.raises(ConnectError, match="loopback"):
        await delete_connector(url, "fishshop.sea.harbour.analyst", "sea/harbour")
    assert seen == []


async def test_the_guarded_resolver_refuses_a_name_for_loopback(
    loopback_connect: tuple[str, list[str]],
) -> None:
    url, seen = loopback_connect
    by_name = url.replace("127.0.0.1", "localhost")
    async with ConnectClient(by_name, timeout=5, resolver=GuardedResolver()) as client:
        with pytest.raises(ConnectError, match="loopback"):
            await client.config("fishshop.sea.harbour.analyst")
    assert seen == []
    allow_local_endpoints(True)
    async with ConnectClient(by_name, timeout=5, resolver=GuardedResolver()) as client:
        await client.config("fishshop.sea.harbour.analyst")
    assert seen == ["GET /connectors/fishshop.sea.harbour.analyst/config"]
