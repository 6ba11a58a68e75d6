"""The hot cabinet over TLS: a real redis-server with a TLS port and certificates made
with openssl; rediss:// with the CA works, and without it the server is not trusted."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import Outcome
from fishshop_workers.cabinet.errors import CabinetUnavailable
from fishshop_workers.cabinet.keys import RecordKey
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.embedded.kafka import free_port
from tests.support.certs import make_certificates

PREFIX = "fishshop.tls-shop"


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """redis-server answering only TLS on a loopback port; yields (port, CA file)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    certs, _client = make_certificates(tmp_path / "certs")
    port = free_port()
    config = tmp_path / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "bind 127.0.0.1",
                "port 0",
                f"tls-port {port}",
                f"tls-cert-file {certs / 'broker.cert'}",
                f"tls-key-file {certs / 'broker.key'}",
                f"tls-ca-cert-file {certs / 'ca.pem'}",
                "tls-auth-clients no",
                f"dir {tmp_path}",
                "save ''",
                "appendonly no",
            ]
        )
        + "\n"
    )
    process = subprocess.Popen(
        [server, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield port, certs / "ca.pem"
    finally:
        process.kill()
        process.wait()


async def _ping_until_up(connection: CabinetConnection) -> HotCabinet:
    deadline = time.monotonic() + 15
    while True:
        cabinet = HotCabinet.connect(connection, PREFIX)
        try:
            await cabinet.ping()
            return cabinet
        except CabinetUnavailable:
            await cabinet.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def test_the_cabinet_works_over_tls_with_the_servers_ca(tls_redis: tuple[int, Path]) -> None:
    port, ca = tls_redis

    async def scenario() -> Outcome:
        connection = CabinetConnection(f"rediss://127.0.0.1:{port}/0", tls_ca_file=ca)
        cabinet = await _ping_until_up(connection)
        try:
            await cabinet.reset()
            record = RecordKey("preparer", f"{PREFIX}.orders", 0, 1)
            decision = await cabinet.take(record, "o1", {"cod": 1})
            return decision.outcome
        finally:
            await cabinet.close()

    assert asyncio.run(scenario()) is Outcome.TO_COOK  # the cabinet starts the day empty


def test_without_the_ca_the_server_is_not_trusted(tls_redis: tuple[int, Path]) -> None:
    port, ca = tls_redis

    async def scenario() -> str:
        await (
            await _ping_until_up(CabinetConnection(f"rediss://127.0.0.1:{port}/0", tls_ca_file=ca))
        ).close()
        cabinet = HotCabinet.connect(CabinetConnection(f"rediss://127.0.0.1:{port}/0"), PREFIX)
        try:
            with pytest.raises(CabinetUnavailable) as refused:
                await cabinet.ping()
            return str(refused.value)
        finally:
            await cabinet.close()

    message = asyncio.run(scenario())
    assert f"127.0.0.1:{port}" in message
    assert "certificate" in message.lower() or "ssl" in message.lower(), message
