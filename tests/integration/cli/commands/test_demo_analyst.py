"""The analyst scenario of ``fishshop demo``: served orders reach PostgreSQL through
a real Kafka Connect worker and Debezium's JDBC sink, and the summary says so."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from fishshop_workers.analyst.connect_client import ConnectClient
from fishshop_workers.analyst.store import row_count
from fishshop_workers.embedded.connect import EmbeddedConnect
from fishshop_workers.embedded.postgres import (
    EmbeddedPostgres,
    PostgresStartError,
    postgres_bin_dir,
)
from fishshop_workers.kafka.settings import KafkaSettings
from tests.support.demo import open_demo, still_running
from tests.support.processes import fishshop_env, run_fishshop
from tests.support.readme import fishshop_words

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _postgres_or_skip() -> None:
    try:
        postgres_bin_dir()
    except PostgresStartError as error:
        pytest.skip(str(error))


def test_the_analyst_scenario_copies_every_served_order_to_postgresql() -> None:
    """The issue's check, as a user types it: nothing but the scenario's name."""
    _postgres_or_skip()
    result = run_fishshop(
        *fishshop_words("fishshop demo --scenario analyst"),
        timeout=900,
        headless="1",
        duration="20",
        json="1",
    )
    assert result.returncode == 0, result.stderr
    for said in ("PostgreSQL ready on postgresql://", "broker ready on", "Connect ready on http"):
        assert said in result.stderr
    assert result.stderr.index("PostgreSQL ready") < result.stderr.index("broker ready")
    summary = json.loads(result.stdout)
    assert summary["orders_served"] > 0
    assert summary["unserved"] == 0 and summary["duplicates"] == 0
    analyst = summary["analyst"]
    assert analyst["rows"] == summary["orders_served"]
    assert analyst["missing"] == 0
    assert analyst["extra"] == 0
    assert analyst.get("differ", 0) == 0


async def test_the_analyst_on_a_postgresql_and_connect_of_ones_own(
    kafka: KafkaSettings,
    postgres_server: EmbeddedPostgres,
    connect_worker: EmbeddedConnect,
) -> None:
    """--postgres-url and --connect-url: nothing is started for the analyst, the
    rows land in that PostgreSQL, and the connector is removed when the shop closes
    (Connect keeps connectors in Kafka, beyond the demo)."""
    run = [
        "demo",
        "--scenario",
        "analyst",
        "--headless",
        "--json",
        "--duration",
        "10",
        "--bootstrap-servers",
        kafka.bootstrap_servers,
        "--postgres-url",
        postgres_server.url,
        "--connect-url",
        connect_worker.url,
    ]
    result = await asyncio.to_thread(run_fishshop, *run, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "starting a local PostgreSQL" not in result.stderr
    assert "starting a local Kafka Connect" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["analyst"]["missing"] == 0 and summary["analyst"]["extra"] == 0
    assert summary["analyst"]["rows"] == summary["orders_served"] > 0
    assert row_count(postgres_server.url, "analyst") == summary["orders_served"]
    async with ConnectClient(connect_worker.url) as client:
        assert "fishshop.analyst.analyst" not in await client.connectors()


def test_sigterm_stops_the_analyst_demo_with_its_postgresql_connect_and_broker() -> None:
    _postgres_or_skip()
    demo = open_demo("--scenario", "analyst", "--duration", "300", env=fishshop_env())
    assert len(demo.children) >= 3, "PostgreSQL, the broker and Connect: " + "".join(demo.seen)
    demo.process.send_signal(signal.SIGTERM)
    _, rest = demo.process.communicate(timeout=120)
    assert demo.process.returncode == 130, "".join(demo.seen) + rest
    assert "Traceback" not in rest
    assert still_running(demo.children) == [], "the demo left a server running"


def test_a_second_demo_on_the_same_postgresql_is_clean_too(tmp_path: Path) -> None:
    """The embedded broker starts empty each time, the PostgreSQL keeps yesterday's
    rows: those are not today's to account for, and today's are all there."""
    from fishshop_workers.embedded.postgres import EmbeddedPostgres

    with EmbeddedPostgres(tmp_path / "postgres") as database:
        run = ["demo", "--scenario", "analyst", "--headless", "--json", "--duration", "8"]
        served = []
        for _ in range(2):
            result = run_fishshop(*run, "--postgres-url", database.url, timeout=600)
            assert result.returncode == 0, result.stdout + result.stderr[-3000:]
            summary = json.loads(result.stdout)
            assert (summary["analyst"]["missing"], summary["analyst"]["extra"]) == (0, 0)
            served.append(summary["orders_served"])
        assert row_count(database.url, "analyst") == sum(served) > 0
