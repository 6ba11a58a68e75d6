"""Every worker serves /metrics and /healthz; the series move while the shop runs
and pass promtool's checks."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
import urllib.error
from pathlib import Path

import pytest

from fishshop_workers.embedded.kafka import free_port
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics, default_prefix
from tests.support.processes import Worker, scrape

pytestmark = pytest.mark.broker

EVERY_WORKER = ("fishshop_worker_info",)
REQUIRED = {
    "till": ("fishshop_orders_created_total",),
    "preparer": (
        "fishshop_orders_served_total",
        "fishshop_order_wait_seconds_bucket",
        "fishshop_order_wait_seconds_count",
        "fishshop_orders_sent_to_cook_total",
        "fishshop_records_rejected_total",
        "fishshop_consumer_lag",
        "fishshop_transactions_total",
    ),
    "cook": (
        "fishshop_orders_cooked_total",
        "fishshop_records_rejected_total",
        "fishshop_consumer_lag",
        "fishshop_transactions_total",
    ),
}


def _total(text: str, name: str) -> float:
    """Sum of every sample of ``name`` in an exposition."""
    pattern = re.compile(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


def _eventually_ready(port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if scrape(port, "/readyz") == (200, "ready\n"):
                return True
        except urllib.error.HTTPError as error:
            if error.code != 503:  # not yet connected is the only other answer
                raise
        time.sleep(0.2)
    return False


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: install Debian's prometheus package (.ci/run does)")
    return found


def test_workers_export_moving_series_that_promtool_accepts(
    kafka: KafkaSettings, shop_name: str, tmp_path: Path
) -> None:
    promtool = _promtool()
    topics = ShopTopics.from_prefix(default_prefix(shop_name))
    asyncio.run(ensure_topics(kafka, topics, 2))
    ports = {role: free_port() for role in ("till", "preparer", "cook")}
    common = {"shop": shop_name, "bootstrap_servers": kafka.bootstrap_servers}
    workers = {
        "till": Worker(
            "till",
            tmp_path,
            "till",
            till="1",
            orders_per_minute="600",
            plaice="true",
            metrics_port=str(ports["till"]),
            **common,
        ),
        "preparer": Worker(
            "preparer",
            tmp_path,
            "preparer",
            prep_min="0.01",
            prep_max="0.02",
            metrics_port=str(ports["preparer"]),
            **common,
        ),
        "cook": Worker(
            "cook",
            tmp_path,
            "cook",
            cook_min="0.1",
            cook_max="0.2",
            metrics_port=str(ports["cook"]),
            **common,
        ),
    }
    for worker in workers.values():
        worker.start()
    try:
        for role, port in ports.items():
            status, body = scrape(port, "/healthz", timeout=30)
            assert (status, body) == (200, "ok\n"), role
            assert _eventually_ready(port), role
        time.sleep(6)
        first = {role: scrape(port)[1] for role, port in ports.items()}
        time.sleep(6)
        second = {role: scrape(port)[1] for role, port in ports.items()}
    finally:
        for worker in workers.values():
            worker.terminate()

    for role, text in second.items():
        for name in (*EVERY_WORKER, *REQUIRED[role]):
            assert re.search(rf"^{name}[{{ ]", text, re.MULTILINE), (role, name)
        check = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, (role, check.stdout, check.stderr)
        assert "_created{" not in text, role

    moving = {
        "till": ["fishshop_orders_created_total"],
        "preparer": [
            "fishshop_orders_served_total",
            "fishshop_order_wait_seconds_count",
            "fishshop_orders_sent_to_cook_total",
            "fishshop_transactions_total",
        ],
        "cook": ["fishshop_orders_cooked_total", "fishshop_transactions_total"],
    }
    for role, names in moving.items():
        for name in names:
            assert _total(second[role], name) > _total(first[role], name), (role, name)
