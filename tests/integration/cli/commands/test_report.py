"""`fishshop report` on a PostgreSQL filled by a real shop: tills, a preparer and a
cook on the real broker, their served orders carried into the table by Debezium's
JDBC sink in a real Kafka Connect worker. The report's figures are checked against
the served topic as Kafka's own console consumer reads it (read_committed)."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from fishshop_workers.analyst.store import row_count
from fishshop_workers.embedded.connect import EmbeddedConnect
from fishshop_workers.embedded.kafka import EmbeddedBroker, free_port
from fishshop_workers.embedded.postgres import EmbeddedPostgres
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics, default_prefix
from tests.support.analyst import delete_sink, put_sink
from tests.support.console_consumer import read_committed
from tests.support.processes import Worker, audit_json, run_fishshop

pytestmark = [pytest.mark.broker, pytest.mark.slow]

ANSI = re.compile(r"\x1b\[")


@dataclass(frozen=True)
class FilledShop:
    name: str
    postgres_url: str
    served: list[dict[str, Any]]
    """Every served record of the shop, as Kafka's console consumer read them."""


def _wait_rows(url: str, shop: str, expected: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    count = row_count(url, shop)
    while count != expected:
        assert time.monotonic() < deadline, f"the table holds {count} rows, not {expected}"
        time.sleep(0.5)
        count = row_count(url, shop)


@pytest.fixture(scope="module")
def filled_shop(
    broker: EmbeddedBroker,
    connect_worker: EmbeddedConnect,
    postgres_server: EmbeddedPostgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FilledShop]:
    """A shop that served for a while, its tills closed and its kitchen drained, and
    the table holding exactly its served orders."""
    shop = f"r{uuid.uuid4().hex[:8]}"
    logs = tmp_path_factory.mktemp("report-shop")
    kafka = KafkaSettings(broker.bootstrap_servers)
    topics = ShopTopics.from_prefix(default_prefix(shop))
    asyncio.run(ensure_topics(kafka, topics, 2))
    bootstrap = broker.bootstrap_servers
    tills = [
        Worker(
            "till",
            logs,
            f"till-{n}",
            till=str(n),
            orders_per_minute="240",
            plaice="true",
            metrics_port="0",
            shop=shop,
            bootstrap_servers=bootstrap,
        )
        for n in (1, 2)
    ]
    kitchen = [
        Worker(
            "preparer",
            logs,
            "preparer-1",
            prep_min="0.01",
            prep_max="0.05",
            metrics_port=str(free_port()),
            shop=shop,
            bootstrap_servers=bootstrap,
        ),
        Worker(
            "cook",
            logs,
            "cook-1",
            cook_min="0.2",
            cook_max="0.4",
            metrics_port=str(free_port()),
            shop=shop,
            bootstrap_servers=bootstrap,
        ),
    ]
    connector = put_sink(connect_worker.url, postgres_server.url, shop)
    try:
        for worker in kitchen + tills:
            worker.start()
        deadline = time.monotonic() + 120
        while row_count(postgres_server.url, shop) < 30:  # the whole pipeline works
            assert time.monotonic() < deadline, "no rows reached PostgreSQL"
            for worker in kitchen + tills:
                assert worker.alive, worker.log()
            time.sleep(1)
        for till in tills:
            assert till.terminate() == 0, till.log()
        books = audit_json(broker.bootstrap_servers, shop, wait=120)
        assert (books["unserved"], books["duplicates"]) == (0, 0), books
        served = [
            json.loads(line)
            for line in read_committed(broker.bootstrap_servers, topics.served, logs / "console")
        ]
        assert len(served) == books["orders_served"], books
        _wait_rows(postgres_server.url, shop, len(served), 120)
        yield FilledShop(shop, postgres_server.url, served)
    finally:
        for worker in tills + kitchen:
            worker.terminate(timeout=30)
        delete_sink(connect_worker.url, connector)


def _report(shop: FilledShop, *options: str) -> dict[str, Any]:
    result = run_fishshop(
        "report", "--postgres-url", shop.postgres_url, "--shop", shop.name, *options, "--json"
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _wait(record: dict[str, Any]) -> float:
    def moment(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return (moment(record["servedAt"]) - moment(record["createdAt"])).total_seconds()


def test_report_figures_match_the_served_topic(filled_shop: FilledShop) -> None:
    served = filled_shop.served
    report = _report(filled_shop, "--since", "1h", "--every", "1m")
    totals = report["totals"]
    print("report totals:", totals)

    assert report["shop"] == filled_shop.name
    assert totals["orders"] == len(served) > 30
    tills = Counter(str(record["till"]) for record in served)
    assert totals["tills"] == dict(tills)
    items = Counter(item for record in served for part in record["parts"] for item in part)
    assert totals["items"] == {item: items[item] for item in ("chips", "cod", "plaice")}
    assert totals["items"]["plaice"] > 0  # the cook worked
    cooked = sum(1 for record in served if record.get("cookedBy"))
    assert totals["cooked"] == cooked > 0
    assert totals["cook_share"] == pytest.approx(cooked / len(served))

    # Nearest-rank wait percentiles of what the topic says the customers waited
    # (the topic keeps milliseconds; PostgreSQL keeps what the sink wrote).
    waits = sorted(_wait(record) for record in served)
    for p in (50, 95, 99):
        expected = waits[max(1, math.ceil(p / 100 * len(waits))) - 1]
        assert totals[f"wait_p{p}_s"] == pytest.approx(expected, abs=0.002), p

    # The intervals add up to the totals, and each is one --every long.
    intervals = report["intervals"]
    assert sum(i["orders"] for i in intervals) == totals["orders"]
    for till in tills:
        assert sum(i["tills"][till] for i in intervals) == tills[till]
    assert len(intervals) in (60, 61)  # an hour of whole minutes, plus the one now
    assert all(i["start"].endswith(":00Z") for i in intervals)
    quiet = [i for i in intervals if i["orders"] == 0]
    assert quiet and all(i["wait_p50_s"] is None for i in quiet)  # before the shop opened


def test_report_by_the_second_puts_every_order_in_one_interval(filled_shop: FilledShop) -> None:
    report = _report(filled_shop, "--since", "5m", "--every", "1s")
    intervals = report["intervals"]
    assert len(intervals) in (300, 301)
    assert all(i["start"].endswith("Z") and "." not in i["start"] for i in intervals)
    assert sum(i["orders"] for i in intervals) == len(filled_shop.served)
    busy = [i for i in intervals if i["orders"]]
    assert len(busy) >= 2  # the shop served for longer than a second


def test_piped_report_is_plain_tables(filled_shop: FilledShop) -> None:
    result = run_fishshop(
        "report", "--postgres-url", filled_shop.postgres_url, "--shop", filled_shop.name
    )
    assert result.returncode == 0, result.stderr
    assert not ANSI.search(result.stdout), result.stdout[:500]
    total = next(line for line in result.stdout.splitlines() if line.startswith("total"))
    assert total.split()[1] == str(len(filled_shop.served))
    assert "portions sold" in result.stdout

    csv_lines = run_fishshop(
        "report", "--postgres-url", filled_shop.postgres_url, "--shop", filled_shop.name, "--csv"
    ).stdout.splitlines()
    header = csv_lines[0].split(",")
    orders = header.index("orders")
    assert sum(int(line.split(",")[orders]) for line in csv_lines[1:]) == len(filled_shop.served)


def test_a_bad_since_is_refused_with_exit_2() -> None:
    result = run_fishshop(
        "report", "--postgres-url", "postgresql://fishshop@127.0.0.1:5432/fishshop", "--since", "1w"
    )
    assert result.returncode == 2
    assert "--since '1w' is not a duration" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_postgresql_gives_exit_3() -> None:
    port = free_port()  # nothing listens there
    result = run_fishshop(
        "report", "--postgres-url", f"postgresql://fishshop@127.0.0.1:{port}/fishshop"
    )
    assert result.returncode == 3, result.stderr
    assert "cannot reach PostgreSQL" in result.stderr
    assert "--postgres-url" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
