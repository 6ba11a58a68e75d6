"""The messaging promise under fire: SIGKILLed workers and a broker restart lose
no order and serve none twice."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest

from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics, default_prefix
from tests.support.console_consumer import console_books
from tests.support.processes import Worker, audit_json

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_killed_workers_and_broker_restart_lose_nothing_and_double_nothing(
    own_broker: EmbeddedBroker, shop_name: str, tmp_path: Path
) -> None:
    bootstrap = own_broker.bootstrap_servers
    asyncio.run(
        ensure_topics(
            KafkaSettings(bootstrap),
            ShopTopics.from_prefix(default_prefix(shop_name)),
            3,
        )
    )
    common = {"shop": shop_name, "bootstrap_servers": bootstrap, "metrics_port": "0"}
    tills = [
        Worker(
            "till",
            tmp_path,
            f"till-{n}",
            till=str(n),
            orders_per_minute="240",
            plaice="true",
            **common,
        )
        for n in (1, 2, 3)
    ]
    kitchen = [
        Worker("preparer", tmp_path, f"preparer-{n}", prep_min="0.01", prep_max="0.05", **common)
        for n in (1, 2)
    ] + [Worker("cook", tmp_path, "cook-1", cook_min="0.2", cook_max="0.4", **common)]
    rng = random.Random(int(os.environ.get("FISHSHOP_CRASH_SEED", "20261125")))
    kills = 0
    broker_restarted = False
    try:
        for worker in kitchen + tills:
            worker.start()
        started = time.monotonic()
        while time.monotonic() - started < 40 or kills < 6:
            time.sleep(rng.uniform(2.5, 4.0))
            victim = rng.choice(kitchen)
            victim.kill()
            kills += 1
            time.sleep(rng.uniform(0.0, 1.0))
            victim.start()
            if not broker_restarted and time.monotonic() - started > 15:
                own_broker.stop()
                time.sleep(1.0)
                own_broker.start()
                broker_restarted = True
        for worker in kitchen + tills:
            assert worker.alive, worker.log()
        for till in tills:
            assert till.terminate() == 0, till.log()
        report = audit_json(bootstrap, shop_name, wait=180)
        topics = ShopTopics.from_prefix(default_prefix(shop_name))
        # An independent reader: Kafka's own console consumer, read_committed.
        books = console_books(bootstrap, topics.orders, topics.served, topics.dlq, tmp_path)
    finally:
        for worker in tills + kitchen:
            worker.terminate(timeout=30)
    print("crash test:", kills, "kills;", report)
    assert kills >= 6
    assert broker_restarted
    assert report["orders_created"] > 100, report
    assert report["unserved"] == 0, report
    assert report["duplicates"] == 0, report
    assert report["served_unknown"] == 0, report
    assert report["orders_served"] == report["orders_created"], report
    assert books.created == report["orders_created"], books
    assert (books.unserved, books.duplicates, books.served_unknown, books.dlq) == (0, 0, 0, 0)
