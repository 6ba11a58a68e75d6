"""Unit tests for fishshop_operator.analyst.connector against an HTTP server on
loopback that answers as Connect does: a connector is put only on a Connect that
works with the shop's own Kafka cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web

from fishshop_operator.analyst.connector import AnalystShop, reconcile_analyst
from fishshop_operator.analyst.decisions import AnalystMemory
from fishshop_operator.analyst.spec import AnalystSpec
from fishshop_operator.endpoints import allow_local_endpoints
from fishshop_workers.analyst.database import DatabaseAddress

ADDRESS = DatabaseAddress.from_url("postgresql://analyst:pw@pg.example:5432/shop")


@pytest.fixture(autouse=True)
def local() -> Iterator[None]:
    allow_local_endpoints(True)  # the fake Connect is on 127.0.0.1
    yield
    allow_local_endpoints(False)


@pytest.fixture
async def connect() -> AsyncIterator[tuple[str, list[str]]]:
    """Connect on Kafka cluster "theirs", with no connector yet; records requests."""
    seen: list[str] = []

    async def root(request: web.Request) -> web.Response:
        seen.append("GET /")
        return web.json_response({"version": "4.2.1", "kafka_cluster_id": "theirs"})

    async def anything(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path}")
        if request.method == "PUT":
            return web.json_response({"name": "x", "config": {}, "tasks": []}, status=201)
        if request.path.endswith("/status"):
            body: dict[str, Any] = {
                "name": "x",
                "connector": {"state": "RUNNING", "worker_id": "w"},
                "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "w"}],
            }
            return web.json_response(body)
        return web.json_response({"error_code": 404, "message": "not found"}, status=404)

    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_route("*", "/connectors/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    await runner.cleanup()


def _shop(cluster: str | None) -> AnalystShop:
    return AnalystShop(
        "sea/harbour", "fishshop.sea.harbour", "fishshop.sea.harbour.served", cluster
    )


async def _reconcile(url: str, cluster: str | None) -> Any:
    memory = AnalystMemory(table_made=ADDRESS)  # the table is PostgreSQL's business
    outcome, _ = await reconcile_analyst(
        AnalystSpec(url, "pg"), _shop(cluster), ADDRESS, memory, now=0.0
    )
    return outcome


async def test_a_connect_of_another_kafka_gets_no_connector(
    connect: tuple[str, list[str]],
) -> None:
    url, seen = connect
    outcome = await _reconcile(url, "ours")
    assert (outcome.ready, outcome.reason) == (False, "ConnectOnAnotherKafka")
    assert "works with Kafka cluster theirs, not the shop's (ours)" in outcome.message
    assert seen == ["GET /"]  # asked who it is, and nothing else


async def test_a_connect_of_the_shops_kafka_gets_the_connector(
    connect: tuple[str, list[str]],
) -> None:
    url, seen = connect
    outcome = await _reconcile(url, "theirs")
    assert outcome.ready, outcome
    assert seen[0] == "GET /"
    assert "PUT /connectors/fishshop.sea.harbour.analyst/config" in seen
