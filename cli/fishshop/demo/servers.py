"""The demo's servers: Redis, PostgreSQL, Kafka and Connect, local unless the person names them.

Redis and PostgreSQL start before the broker, so that a missing server is said at
once rather than after Kafka; Connect starts after it, since it keeps its state in
Kafka, and stops before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.kafka.settings import KafkaSettings

__all__ = ["DemoAnalyst", "DemoServers", "GivenServers", "demo_servers", "say"]


def say(line: str) -> None:
    """Tell the person what the demo is doing (on stderr: stdout is the summary's)."""
    print(f"fishshop: {line}", file=sys.stderr)


@dataclass(frozen=True)
class DemoAnalyst:
    """Where the demo's analyst lives: its PostgreSQL and its Connect cluster."""

    postgres_url: str
    connect_url: str
    delete_connector: bool
    """True unless the Connect worker and its broker both die with the demo (and the
    connector with them): Connect keeps connectors in Kafka."""
    replication_factor: int = 1
    """For the dead-letter topic Connect makes: 1 on a broker of one node, -1 (the
    broker's default, as the shop's own topics take) elsewhere."""


@dataclass(frozen=True)
class GivenServers:
    """The servers the person named; for each one left out (None), the demo starts
    a local one when the shop needs it."""

    bootstrap_servers: str | None = None
    cabinet: CabinetConnection | None = None
    postgres_url: str | None = None
    connect_url: str | None = None


@dataclass(frozen=True)
class DemoServers:
    """Where the demo's shop finds Kafka, its hot cabinet and its analyst."""

    kafka: KafkaSettings
    cabinet: CabinetConnection | None = None
    """The hot cabinet's Redis; None: the shop has none."""
    analyst: DemoAnalyst | None = None
    """The analyst's PostgreSQL and Connect; None: the shop has none."""


@contextlib.contextmanager
def demo_servers(
    given: GivenServers,
    *,
    cabinet: bool,
    analyst: bool,
    connect_group: str,
    kafka: Callable[[str], KafkaSettings] = KafkaSettings,
) -> Iterator[DemoServers]:
    """The servers for a shop with (or without) a ``cabinet`` and an ``analyst``:
    the given ones, and local ones started here and stopped when the block ends.
    ``kafka`` turns the bootstrap servers into settings (the command line adds TLS
    and SASL); Connect joins the Connect cluster ``connect_group``."""
    with contextlib.ExitStack() as stack:
        folder = Path(
            stack.enter_context(
                tempfile.TemporaryDirectory(prefix="fishshop-demo-", ignore_cleanup_errors=True)
            )
        )
        connection = given.cabinet
        if cabinet and connection is None:
            connection = _local_redis(stack, folder)
        postgres_url = _postgres(stack, folder, given.postgres_url) if analyst else ""
        bootstrap = given.bootstrap_servers
        if not bootstrap:
            from fishshop_workers.embedded.kafka import EmbeddedBroker

            say("starting the embedded Kafka broker...")
            bootstrap = stack.enter_context(EmbeddedBroker(folder / "kafka")).bootstrap_servers
            say(f"broker ready on {bootstrap}")
        settings = kafka(bootstrap)
        demo_analyst = None
        if analyst:
            connect_url = given.connect_url
            if connect_url is None:
                # Entered after the broker, so it stops before the broker it keeps its state in.
                connect_url = _local_connect(stack, folder, settings, connect_group)
            say(f"Connect ready on {connect_url}")
            local = not given.bootstrap_servers  # the broker is the demo's own
            demo_analyst = DemoAnalyst(
                postgres_url,
                connect_url,
                delete_connector=not local or given.connect_url is not None,
                replication_factor=1 if local or given.connect_url is None else -1,
            )
        yield DemoServers(settings, connection, demo_analyst)


def _local_redis(stack: contextlib.ExitStack, folder: Path) -> CabinetConnection:
    from fishshop_workers.embedded.redis import EmbeddedRedis

    say("starting a local Redis for the hot cabinet...")
    redis = stack.enter_context(EmbeddedRedis(folder / "redis"))
    say(f"Redis ready on {redis.url}")
    return CabinetConnection(redis.url)


def _postgres(stack: contextlib.ExitStack, folder: Path, given: str | None) -> str:
    """The analyst's PostgreSQL, started here if none was given; its table made."""
    from fishshop_workers.analyst.store import make_table

    url = given
    if url is None:
        from fishshop_workers.embedded.postgres import EmbeddedPostgres

        say("starting a local PostgreSQL for the analyst...")
        url = stack.enter_context(EmbeddedPostgres(folder / "postgres")).url
    address = DatabaseAddress.from_url(url)  # a bad URL is said first
    asyncio.run(make_table(url))
    say(f"PostgreSQL ready on {address.shown}")
    return url


def _local_connect(
    stack: contextlib.ExitStack, folder: Path, kafka: KafkaSettings, group: str
) -> str:
    from fishshop_workers.embedded.connect import EmbeddedConnect

    say("starting a local Kafka Connect worker with Debezium's JDBC sink...")
    worker = EmbeddedConnect(folder / "connect", kafka.bootstrap_servers, group_id=group)
    return stack.enter_context(worker).url
