"""Every worker, started while Kafka or its topics are missing, stays alive, answers
its liveness probe, reports not ready, and starts work once they come."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fishshop_workers.embedded.kafka import EmbeddedBroker, free_port
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics, default_prefix
from tests.support.processes import Worker, audit_json, scrape

pytestmark = pytest.mark.broker

ROLES = ("till", "preparer", "cook")


def _status(port: int, path: str) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def _wait_status(port: int, path: str, want: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    seen = None
    while time.monotonic() < deadline:
        seen = _status(port, path)
        if seen == want:
            return
        time.sleep(0.3)
    raise AssertionError(f"{path} on port {port} answered {seen}, not {want}, for {seconds}s")


def _wait_served(port: int, seconds: float) -> None:
    """Until the preparer on ``port`` has served an order: the shop works again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, text = scrape(port)
        for line in text.splitlines():
            if line.startswith("fishshop_orders_served_total{") and float(line.split()[-1]) > 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"the preparer served nothing for {seconds}s after Kafka came back")


def _workers(tmp_path: Path, shop: str, bootstrap: str) -> dict[str, tuple[Worker, int]]:
    workers = {}
    for role in ROLES:
        port = free_port()
        extra = {"till": "1", "orders_per_minute": "600"} if role == "till" else {}
        worker = Worker(
            role,
            tmp_path,
            f"{role}-{port}",
            shop=shop,
            bootstrap_servers=bootstrap,
            metrics_port=str(port),
            **extra,
        )
        workers[role] = (worker, port)
    return workers


def _waiting(workers: dict[str, tuple[Worker, int]], what: str) -> None:
    """Alive, /healthz 200, /readyz 503, and the log says what it waits for."""
    for role, (_worker, port) in workers.items():
        _wait_status(port, "/healthz", 200, 30)
        assert _status(port, "/readyz") == 503, role
    time.sleep(4)  # past the first retries: nobody gave up
    for role, (worker, _port) in workers.items():
        assert worker.alive, f"{role} gave up:\n{worker.log()}"
        assert what in worker.log(), f"{role} did not say it waits:\n{worker.log()}"


def test_workers_wait_for_topics_that_do_not_exist_yet(
    kafka: KafkaSettings, shop_name: str, tmp_path: Path
) -> None:
    workers = _workers(tmp_path, shop_name, kafka.bootstrap_servers)
    try:
        for worker, _port in workers.values():
            worker.start()
        _waiting(workers, "the shop's topics do not exist")
        asyncio.run(ensure_topics(kafka, ShopTopics.from_prefix(default_prefix(shop_name)), 1))
        for _role, (_worker, port) in workers.items():
            _wait_status(port, "/readyz", 200, 60)
        report = audit_json(kafka.bootstrap_servers, shop_name)
        assert report["orders_created"] > 0, report
    finally:
        codes = {role: worker.terminate(timeout=30) for role, (worker, _) in workers.items()}
    assert codes == dict.fromkeys(ROLES, 0)


@pytest.mark.slow
def test_workers_started_while_kafka_is_down_wait_and_then_work(
    own_broker: EmbeddedBroker, shop_name: str, tmp_path: Path
) -> None:
    """As after a node restart: the pods come back before Kafka does."""
    bootstrap = own_broker.bootstrap_servers
    asyncio.run(
        ensure_topics(
            KafkaSettings(bootstrap), ShopTopics.from_prefix(default_prefix(shop_name)), 1
        )
    )
    own_broker.stop()
    workers = _workers(tmp_path, shop_name, bootstrap)
    try:
        for worker, _port in workers.values():
            worker.start()
        _waiting(workers, "cannot reach Kafka")
        own_broker.start()
        for _role, (_worker, port) in workers.items():
            _wait_status(port, "/readyz", 200, 90)
        _wait_served(workers["preparer"][1], 60)
        codes = {"till": workers["till"][0].terminate(timeout=30)}
        report = audit_json(bootstrap, shop_name, wait=60)
        codes.update({role: workers[role][0].terminate(timeout=30) for role in ROLES[1:]})
    finally:
        for worker, _port in workers.values():
            worker.terminate(timeout=30)
    assert codes == dict.fromkeys(ROLES, 0)
    assert report["orders_created"] > 0, report
    assert report["unserved"] == 0, report
    assert report["duplicates"] == 0, report
