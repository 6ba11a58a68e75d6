"""The analyst's pipeline on real parts: the shop on the real broker, Apache Kafka's
Connect runtime with Debezium's JDBC sink, and a real PostgreSQL. The table must
hold exactly the served orders, also after the Connect worker is SIGKILLed and
started again mid-stream and after PostgreSQL restarts; bad records go to
Connect's dead-letter topic; aborted transactions never reach the table."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from fishshop_workers.analyst.connect_client import ConnectClient
from fishshop_workers.analyst.connector import ConnectorKeeper
from fishshop_workers.analyst.sink import (
    analyst_dead_letter_topic,
    connector_name,
)
from fishshop_workers.analyst.store import make_table, row_count
from fishshop_workers.embedded.connect import EmbeddedConnect
from fishshop_workers.embedded.kafka import EmbeddedBroker, free_port
from fishshop_workers.embedded.postgres import EmbeddedPostgres
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics, default_prefix
from tests.support.analyst import put_sink
from tests.support.processes import Worker, run_fishshop
from tests.support.shops import topic_partitions

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL for a test that restarts it."""
    server = EmbeddedPostgres(tmp_path / "postgres")
    server.start()
    asyncio.run(make_table(server.url))
    yield server
    server.kill()


@pytest.fixture
def own_connect(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[EmbeddedConnect]:
    """A Connect worker for a test that kills it."""
    worker = EmbeddedConnect(
        tmp_path / "connect", broker.bootstrap_servers, group_id=f"fishshop-connect-{tmp_path.name}"
    )
    worker.start()
    yield worker
    worker.kill()


def _keep_until_rows(connect_url: str, postgres_url: str, shop: str, at_least: int) -> int:
    """Watch the connector with a ``ConnectorKeeper`` until the table holds
    ``at_least`` rows of the shop; the keeper's restarts."""
    name = connector_name(default_prefix(shop))

    async def keep() -> int:
        async with ConnectClient(connect_url) as client:
            config = await client.config(name)
            assert config is not None
            keeper = ConnectorKeeper(client, name, config)
            deadline = time.monotonic() + 150
            while await asyncio.to_thread(_rows_or_none, postgres_url, shop) < at_least:
                assert time.monotonic() < deadline, "the table stopped growing"
                await keeper.check()
                await asyncio.sleep(1)
            return keeper.restarts

    return asyncio.run(keep())


def _rows_or_none(url: str, shop: str) -> int:
    try:
        return row_count(url, shop)
    except Exception:  # noqa: BLE001 - PostgreSQL may be on its way back
        return -1


def _wait_rows(url: str, shop: str, at_least: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            count = row_count(url, shop)
        except Exception:  # noqa: BLE001 - PostgreSQL may be on its way back
            count = -1
        if count >= at_least:
            return count
        assert time.monotonic() < deadline, f"the table holds {count} rows, not {at_least}"
        time.sleep(0.5)


def _shop(tmp_path: Path, kafka: KafkaSettings, shop: str) -> tuple[list[Worker], list[Worker]]:
    asyncio.run(ensure_topics(kafka, ShopTopics.from_prefix(default_prefix(shop)), 2))
    common = {"shop": shop, "bootstrap_servers": kafka.bootstrap_servers}
    tills = [
        Worker(
            "till",
            tmp_path,
            f"till-{n}",
            till=str(n),
            orders_per_minute="240",
            plaice="true",
            metrics_port="0",
            **common,
        )
        for n in (1, 2)
    ]
    kitchen = [
        Worker(
            "preparer",
            tmp_path,
            "preparer-1",
            prep_min="0.01",
            prep_max="0.02",
            metrics_port=str(free_port()),
            **common,
        ),
        Worker(
            "cook",
            tmp_path,
            "cook-1",
            cook_min="0.05",
            cook_max="0.1",
            metrics_port=str(free_port()),
            **common,
        ),
    ]
    return tills, kitchen


def test_rows_equal_served_after_connect_killed_and_postgres_restarted(
    tmp_path: Path,
    kafka: KafkaSettings,
    shop_name: str,
    own_connect: EmbeddedConnect,
    own_postgres: EmbeddedPostgres,
) -> None:
    tills, kitchen = _shop(tmp_path, kafka, shop_name)
    for worker in kitchen + tills:
        worker.start()
    try:
        put_sink(own_connect.url, own_postgres.url, shop_name)
        first = _wait_rows(own_postgres.url, shop_name, 5, 90)

        # Connect dies mid-stream, without a word, and comes back on the same topics.
        own_connect.kill()
        time.sleep(3)
        own_connect.start()
        second = _wait_rows(own_postgres.url, shop_name, first + 10, 120)

        # PostgreSQL restarts under the sink. A commit cut short fails the task;
        # the keeper (what the demo and the operator run) restarts it, and it
        # resumes from its last committed offsets.
        own_postgres.restart()
        restarts = _keep_until_rows(own_connect.url, own_postgres.url, shop_name, second + 10)
        assert restarts <= 3
    finally:
        for till in tills:
            till.terminate()
    try:
        result = run_fishshop(
            "audit",
            "--shop",
            shop_name,
            "--bootstrap-servers",
            kafka.bootstrap_servers,
            "--postgres-url",
            own_postgres.url,
            "--wait",
            "120",
            "--json",
        )
    finally:
        for worker in kitchen:
            worker.terminate()
    summary = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["unserved"] == 0 and summary["duplicates"] == 0
    analyst = summary["analyst"]
    assert analyst["rows"] == summary["orders_served"] > 20
    assert (analyst["missing"], analyst["extra"], analyst["differ"]) == (0, 0, 0)


def test_table_rows_are_what_was_served(
    kafka: KafkaSettings,
    shop_name: str,
    connect_worker: EmbeddedConnect,
    postgres_server: EmbeddedPostgres,
) -> None:
    """Committed orders become rows with the right columns; an aborted transaction
    never does; a record the sink cannot read goes to Connect's dead-letter topic
    and the connector runs on."""
    prefix = default_prefix(shop_name)
    topics = ShopTopics.from_prefix(prefix)
    asyncio.run(ensure_topics(kafka, topics, 1))

    def served(order_id: str, number: int) -> bytes:
        return json.dumps(
            {
                "v": 1,
                "id": order_id,
                "order": number,
                "till": 2,
                "parts": [["cod", "chips"], ["chips", "chips"], ["plaice", "chips"]],
                "ready": True,
                "createdAt": "2026-11-25T12:00:00.123Z",
                "servedAt": "2026-11-25T12:00:03.623Z",
                "cookedBy": "cook-1",
                "preparedBy": "preparer-1",
                "portions": {"chips": 4, "cod": 1, "plaice": 1},
            }
        ).encode()

    async def produce() -> None:
        producer = AIOKafkaProducer(transactional_id=f"{shop_name}-test", **kafka.client_options())
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send_and_wait(topics.served, served("committed-1", 1), key=b"2")
            await producer.begin_transaction()
            await producer.send_and_wait(topics.served, served("aborted-1", 2), key=b"2")
            await producer.abort_transaction()
            async with producer.transaction():
                await producer.send_and_wait(topics.served, b'{"v": 1, "id": "no-order"}')
                await producer.send_and_wait(topics.served, b"not json at all")
                await producer.send_and_wait(topics.served, served("committed-2", 3), key=b"2")
        finally:
            await producer.stop()

    asyncio.run(produce())
    put_sink(connect_worker.url, postgres_server.url, shop_name)
    _wait_rows(postgres_server.url, shop_name, 2, 90)
    with psycopg.connect(postgres_server.url) as connection:
        rows = connection.execute(
            "SELECT id, till, order_number, cod, chips, plaice, items, wait_seconds, "
            "prepared_by, cooked_by FROM fishshop.served_orders WHERE shop = %s ORDER BY id",
            (shop_name,),
        ).fetchall()
    assert rows == [
        ("committed-1", 2, 1, 1, 4, 1, "4 chips, 1 cod, 1 plaice", 3.5, "preparer-1", "cook-1"),
        ("committed-2", 2, 3, 1, 4, 1, "4 chips, 1 cod, 1 plaice", 3.5, "preparer-1", "cook-1"),
    ]
    dead_letters = analyst_dead_letter_topic(prefix)
    deadline = time.monotonic() + 30
    while topic_partitions(kafka.bootstrap_servers, [dead_letters]).get(dead_letters) is None:
        assert time.monotonic() < deadline, "Connect made no dead-letter topic"
        time.sleep(0.5)
    while _records(kafka, dead_letters) < 2:
        assert time.monotonic() < deadline, "the two bad records are not in Connect's dlq"
        time.sleep(0.5)
    assert _records(kafka, dead_letters) == 2

    async def status() -> str:
        async with ConnectClient(connect_worker.url) as client:
            found = await client.status(connector_name(prefix))
            assert found is not None
            # What the keeper and the operator send: Connect takes it (nothing failed).
            await client.restart_failed(connector_name(prefix))
            await client.delete(connector_name(prefix))
            return "RUNNING" if found.running else repr(found)

    assert asyncio.run(status()) == "RUNNING"


def _records(kafka: KafkaSettings, topic: str) -> int:
    """Records in a topic nobody writes transactionally (Connect's dlq)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    count_of = topic_partitions(kafka.bootstrap_servers, [topic]).get(topic, 0)

    async def count() -> int:
        consumer = AIOKafkaConsumer(**kafka.client_options())
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(count_of)]
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            return sum(ends[tp] - starts[tp] for tp in partitions)
        finally:
            await consumer.stop()

    return asyncio.run(count())


def test_connect_says_which_kafka_cluster_it_works_with(
    connect_worker: EmbeddedConnect, broker: EmbeddedBroker
) -> None:
    """The operator puts a shop's connector only on a Connect of the shop's own Kafka:
    Connect's root answer names its cluster, the same id the broker's metadata gives."""

    async def both() -> tuple[str, str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            kafka = str((await admin.describe_cluster())["cluster_id"])
        finally:
            await admin.close()
        async with ConnectClient(connect_worker.url) as client:
            return kafka, await client.kafka_cluster_id()

    kafka, connect = asyncio.run(both())
    assert kafka and connect == kafka
