"""A shop with a hot cabinet, on the real broker and a real redis-server: preparers
serve from the cabinet, the cook keeps it stocked, and Redis and Kafka agree even when
preparers, the cook and Redis itself are killed or paused."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fishshop_workers.embedded.kafka import free_port
from fishshop_workers.embedded.redis import EmbeddedRedis
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics, default_prefix
from tests.support.console_consumer import console_books
from tests.support.processes import Worker, run_fishshop, scrape

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis for a test that kills it."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


def _shop(
    tmp_path: Path, kafka: KafkaSettings, shop: str, redis_url: str
) -> tuple[list[Worker], list[Worker]]:
    asyncio.run(ensure_topics(kafka, ShopTopics.from_prefix(default_prefix(shop)), 2))
    common = {"shop": shop, "bootstrap_servers": kafka.bootstrap_servers}
    cabinet = {"redis_url": redis_url}
    tills = [
        Worker(
            "till",
            tmp_path,
            f"till-{n}",
            till=str(n),
            orders_per_minute="300",
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
            f"preparer-{n}",
            prep_min="0.01",
            prep_max="0.03",
            metrics_port=str(free_port()),
            **common,
            **cabinet,
        )
        for n in (1, 2)
    ] + [
        Worker(
            "cook",
            tmp_path,
            "cook-1",
            cook_min="0.1",
            cook_max="0.2",
            cod_batch="6",
            cod_threshold="3",
            chips_batch="10",
            chips_threshold="5",
            metrics_port=str(free_port()),
            **common,
            **cabinet,
        )
    ]
    return tills, kitchen


def _wait_served(preparers: list[Worker], seconds: float) -> None:
    """Until a preparer has served an order: the shop is busy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for preparer in preparers:
            _, text = scrape(int(preparer.variables["metrics_port"]))
            for line in text.splitlines():
                if line.startswith("fishshop_orders_served_total{") and float(line.split()[-1]):
                    return
        time.sleep(0.5)
    raise AssertionError(f"no preparer served an order within {seconds}s")


def _wait_missed(kitchen: list[Worker], seconds: float) -> None:
    """Until a worker has said it lost Redis (it stopped taking orders)."""
    deadline = time.monotonic() + seconds
    while "lost a store it needs" not in "".join(w.log() for w in kitchen):
        assert time.monotonic() < deadline, "no worker noticed Redis was gone"
        time.sleep(0.5)


def _audit(kafka: KafkaSettings, shop: str, redis_url: str) -> dict[str, object]:
    import json

    result = run_fishshop(
        "audit",
        "--shop",
        shop,
        "--bootstrap-servers",
        kafka.bootstrap_servers,
        "--redis-url",
        redis_url,
        "--wait",
        "120",
        "--json",
    )
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def _decisions_kept(redis_url: str, prefix: str) -> tuple[int, int]:
    """The shop's keys in Redis, and the decisions of records they still hold."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = list(client.scan_iter(match="\\{" + prefix + "\\}:*"))
        decisions = sum(
            len([f for f in client.hkeys(key) if f != "committed"])
            for key in keys
            if ":cabinet:decided:" in key
        )
    finally:
        client.close()
    return len(keys), decisions


def _assert_exact(report: dict[str, object]) -> None:
    assert isinstance(report["orders_created"], int)
    assert report["orders_created"] > 30, report
    assert report["unserved"] == 0, report
    assert report["duplicates"] == 0, report
    assert report["served_unknown"] == 0, report
    assert report["served_uncooked"] == 0, report
    assert report["cabinet_gaps"] == {}, report  # fried == served + in cabinet + set aside
    assert report["cabinet_kafka_gaps"] == {}, report  # Redis served what Kafka served
    cabinet = report["cabinet"]
    assert isinstance(cabinet, dict)
    for item, books in cabinet.items():
        assert books["fried"] == books["served"] + books["left"], (item, books)


def test_preparers_serve_from_the_cabinet_and_the_books_balance(
    kafka: KafkaSettings, shop_name: str, tmp_path: Path, redis_server: EmbeddedRedis
) -> None:
    tills, kitchen = _shop(tmp_path, kafka, shop_name, redis_server.url)
    try:
        for worker in kitchen + tills:
            worker.start()
        time.sleep(20)
        for till in tills:
            assert till.terminate() == 0, till.log()
        report = _audit(kafka, shop_name, redis_server.url)
        kept = _decisions_kept(redis_server.url, default_prefix(shop_name))
        metrics = {w.name: scrape(int(w.variables["metrics_port"]))[1] for w in kitchen}
        for worker in kitchen:
            assert worker.alive, worker.log()
    finally:
        for worker in tills + kitchen:
            worker.terminate(timeout=30)
    print("hot cabinet:", report, "kept in Redis:", kept)
    _assert_exact(report)
    # What Redis holds is what is in flight, not one decision per order: a key per
    # partition and role besides the cabinet's own three, and few decisions in them.
    keys, decisions = kept
    assert keys <= 3 + 2 + 2, kept
    assert decisions <= 20 < int(str(report["orders_created"])), kept
    cabinet = report["cabinet"]
    assert isinstance(cabinet, dict)
    # Cod and chips came out of the cabinet, plaice only ever to order.
    assert cabinet["cod"]["served"] > 0, cabinet
    assert cabinet["chips"]["served"] > 0, cabinet
    served_from_cabinet = sum(
        float(line.rsplit(" ", 1)[1])
        for name, text in metrics.items()
        if name.startswith("preparer")
        for line in text.splitlines()
        if line.startswith("fishshop_orders_served_from_cabinet_total{")
    )
    assert served_from_cabinet > 0
    batches = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics["cook-1"].splitlines()
        if line.startswith('fishshop_cabinet_batches_fried_total{item="chips"')
    ]
    assert batches and batches[0] > 0, "the cook fried no batch of chips"
    in_cabinet = [
        line
        for text in metrics.values()
        for line in text.splitlines()
        if line.startswith("fishshop_cabinet_portions{")
    ]
    assert in_cabinet, "the portions gauge is missing"


def test_killed_workers_a_killed_redis_and_a_paused_preparer_keep_the_books_exact(
    kafka: KafkaSettings, shop_name: str, tmp_path: Path, own_redis: EmbeddedRedis
) -> None:
    """Redis changes sit outside Kafka's transaction: each decision is remembered per
    consumed record, so a record read again after any of these moves nothing twice."""
    tills, kitchen = _shop(tmp_path, kafka, shop_name, own_redis.url)
    preparers = kitchen[:2]
    rng = random.Random(int(os.environ.get("FISHSHOP_CRASH_SEED", "20261129")))
    try:
        for worker in kitchen + tills:
            worker.start()
        _wait_served(preparers, 90)
        own_redis.kill()  # Redis dies while the shop is busy: no orders taken, none lost
        time.sleep(5)
        own_redis.restart()
        _wait_missed(kitchen, 60)
        for victim in rng.sample(kitchen, len(kitchen)):  # SIGKILL each mid-batch, once
            victim.kill()
            time.sleep(rng.uniform(0.2, 1.0))
            victim.start()
            time.sleep(rng.uniform(2.0, 3.0))
        preparers[0].pause()  # past its 10 s session: a zombie when it wakes
        time.sleep(13)
        preparers[0].resume()
        time.sleep(4)
        for till in tills:
            assert till.terminate() == 0, till.log()
        report = _audit(kafka, shop_name, own_redis.url)
        topics = ShopTopics.from_prefix(default_prefix(shop_name))
        books = console_books(
            kafka.bootstrap_servers, topics.orders, topics.served, topics.dlq, tmp_path
        )
        for worker in kitchen:
            assert worker.alive, worker.log()
    finally:
        for worker in tills + kitchen:
            worker.terminate(timeout=30)
    assert [w.starts for w in kitchen] == [2, 2, 2], "each preparer and the cook killed once"
    print("hot cabinet:", report, books)
    _assert_exact(report)
    assert books.created == report["orders_created"], books  # Kafka's own reader agrees
    assert (books.unserved, books.duplicates, books.served_unknown, books.dlq) == (0, 0, 0, 0)
