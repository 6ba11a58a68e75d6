"""Every panel of the Grafana dashboards returns data from a real Prometheus scraping a
real shop: a till, a preparer and a cook as processes, and the operator reconciling
the FishShop they belong to.

Grafana has no package here, so the test does what Grafana does: it fills in the
dashboard's variables and sends each panel's query to Prometheus's HTTP API.
"""

from __future__ import annotations

import asyncio
import math
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaProducer

from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.embedded.redis import EmbeddedRedis, free_port
from fishshop_workers.shop.topics import ShopTopics, default_prefix
from tests.support.cluster import Cluster
from tests.support.processes import Worker
from tests.support.prometheus import (
    ALERT_RULES,
    DASHBOARDS,
    Prometheus,
    ScrapeJob,
    binary,
    load_dashboard,
    panels,
    substitute,
    targets,
)
from tests.support.shops import apply, small_shop, wait_ready

SHOP = "harbour"
OPERATOR_NAMESPACE = "fishshop-system"
GRAFANA = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
"""What Grafana puts in for its own variables (a 1m rate window, as with 15s scrapes)."""

Result = list[dict[str, Any]]


def _values(result: Result) -> list[float]:
    return [float(sample["value"][1]) for sample in result]


def _each(result: Result, want: Callable[[float], bool]) -> bool:
    return all(want(value) for value in _values(result))


def _where(label: str, value: str, want: Callable[[float], bool]) -> Callable[[Result], bool]:
    def check(result: Result) -> bool:
        return any(
            sample["metric"].get(label) == value and want(float(sample["value"][1]))
            for sample in result
        )

    return check


def _positive(value: float) -> bool:
    return value > 0


# What this shop must show, beyond "data, not only NaN": (dashboard, panel) -> check
# of each of the panel's query results.
EXPECTED: dict[tuple[str, str], Callable[[Result], bool]] = {
    ("fishshop.json", "Orders taken / min"): lambda r: _each(r, _positive),
    ("fishshop.json", "Orders served / min"): lambda r: _each(r, _positive),
    ("fishshop.json", "Preparers / cooks running"): lambda r: _values(r) == [1.0],
    ("fishshop.json", "Shop Ready"): lambda r: _values(r) == [1.0],
    ("fishshop.json", "Orders taken per minute, by till"): _where("till", "1", _positive),
    ("fishshop.json", "Orders served per minute"): lambda r: _each(r, _positive),
    ("fishshop.json", "Sent to cook and cooked per minute"): lambda r: _each(r, _positive),
    ("fishshop.json", "Workers running, by role"): lambda r: (
        sorted(sample["metric"]["role"] for sample in r) == ["cook", "preparer", "till"]
    ),
    ("fishshop.json", "Records sent to dlq, by reason"): _where("reason", "not_json", _positive),
    ("fishshop.json", "Portions fried per minute, by item"): _where("item", "chips", _positive),
    ("operator.json", "Shops ready"): lambda r: _values(r) == [1.0],
    ("operator.json", "Shops not ready"): lambda r: _values(r) == [0.0],
    ("operator.json", "Reconciles per minute, by result"): _where("result", "ready", _positive),
}


def _dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: load_dashboard(path) for path in sorted(DASHBOARDS.glob("*.json"))}


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    """promtool parses each query, as a recording rule, without a server."""
    values = {"namespace": "fs-a", "shop": SHOP, **GRAFANA}
    rules = [
        {"record": f"fishshop:dashboard_query_{n}", "expr": substitute(target["expr"], values)}
        for n, (_, target) in enumerate(
            pair for dashboard in _dashboards().values() for pair in targets(dashboard)
        )
    ]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [binary("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"1")
    finally:
        await producer.stop()


def _wait(what: str, probe: Callable[[], bool], timeout: float, prometheus: Prometheus) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{prometheus.log()}")
        time.sleep(0.5)


def _problem(prometheus: Prometheus, name: str, title: str, expr: str) -> str | None:
    """What is wrong with one panel query's answer now, if anything."""
    answer = prometheus.query(expr)
    if answer["status"] != "success":
        return f"{answer.get('errorType')}: {answer.get('error')}"
    result = answer["data"]["result"]
    if not result or all(math.isnan(value) for value in _values(result)):
        return f"no data: {result}"
    expected = EXPECTED.get((name, title))
    if expected is not None and not expected(result):
        return f"unexpected: {result}"
    return None


def _unanswered(prometheus: Prometheus, values: dict[str, str], timeout: float) -> list[str]:
    """Poll every panel query until each has answered as it should once (the counters'
    rates need a few scrapes); the ones that never did, with their last answer."""
    queries = {
        (name, panel["title"], target["refId"]): substitute(target["expr"], values)
        for name, dashboard in _dashboards().items()
        for panel, target in targets(dashboard)
    }
    last: dict[tuple[str, str, str], str] = {}
    deadline = time.monotonic() + timeout
    while True:
        for key, expr in list(queries.items()):
            problem = _problem(prometheus, key[0], key[1], expr)
            if problem is None:
                del queries[key]
            else:
                last[key] = problem
        if not queries or time.monotonic() > deadline:
            break
        time.sleep(1)
    return [f"{' / '.join(key)}: {expr}: {last[key]}" for key, expr in queries.items()]


def _variables_without(prometheus: Prometheus, values: dict[str, str]) -> list[str]:
    """The dashboards' variable queries (label_values) that do not list this shop."""
    missing = []
    for name, dashboard in _dashboards().items():
        for variable in dashboard["templating"]["list"]:
            if variable["type"] != "query":
                continue
            query = variable["query"]["query"]
            found = re.fullmatch(r"label_values\((.*), (\w+)\)", query)
            assert found, query
            listed = prometheus.label_values(found.group(2), substitute(found.group(1), values))
            if values[variable["name"]] not in listed:
                missing.append(f"{name} / ${variable['name']}: {query} lists {listed}")
    return missing


def _alerts(prometheus: Prometheus, namespace: str) -> list[tuple[str, str, str]]:
    """(alert, state, reason) of every active alert about this test's shop."""
    return sorted(
        (rule["name"], alert["state"], alert["labels"].get("reason", ""))
        for rule in prometheus.rules()
        for alert in rule.get("alerts", [])
        if alert["labels"].get("shop") == SHOP and alert["labels"].get("namespace") == namespace
    )


@pytest.mark.broker
@pytest.mark.slow
def test_every_panel_returns_data_from_a_real_prometheus_scraping_a_shop(
    fishshop_operator: Worker,
    cluster: Cluster,
    broker: EmbeddedBroker,
    namespace: str,
    tmp_path: Path,
    redis_server: EmbeddedRedis,
) -> None:
    titles = {(name, panel["title"]) for name, d in _dashboards().items() for panel in panels(d)}
    assert set(EXPECTED) <= titles, set(EXPECTED) - titles
    bootstrap = broker.bootstrap_servers
    # The operator makes the topics and watches the shop; this test's processes play
    # its pods, so that one shop has the workers' series and the operator's.
    shop = small_shop(bootstrap, name=SHOP, partitions=2, tills={"replicas": 0})
    shop["spec"]["preparers"]["replicas"] = 0
    apply(cluster, namespace, shop)
    wait_ready(cluster, namespace, SHOP)

    def process(role: str, **variables: str) -> Worker:
        return Worker(
            role,
            tmp_path,
            role,
            environment=None,  # named, so that no variable is taken for it
            shop=SHOP,
            namespace=namespace,
            bootstrap_servers=bootstrap,
            metrics_port=str(free_port()),
            **variables,
        )

    workers = [
        process("till", till="1", orders_per_minute="240", plaice="true"),
        # With a hot cabinet, so that its row has data too.
        process("preparer", prep_min="0.01", prep_max="0.02", redis_url=redis_server.url),
        process("cook", cook_min="0.1", cook_max="0.2", redis_url=redis_server.url),
    ]
    jobs = [
        # What the shops' PodMonitor gives the pods' series: a job, the pod's
        # namespace and the shop from the pod's label (never the pod's own claim).
        ScrapeJob(
            "fishshop",
            [f"127.0.0.1:{worker.variables['metrics_port']}" for worker in workers],
            {"namespace": namespace, "shop": SHOP},
        ),
        # The operator's gauges carry the shop's namespace; honor_labels keeps it
        # rather than renaming it exported_namespace.
        ScrapeJob(
            "fishshop-operator",
            [f"127.0.0.1:{fishshop_operator.variables['metrics_port']}"],
            {"namespace": OPERATOR_NAMESPACE},
            honor_labels=True,
        ),
    ]
    for worker in workers:
        worker.start()
    try:
        with Prometheus(tmp_path / "prometheus", jobs, [ALERT_RULES]) as prometheus:

            def scraped(expr: str, count: int = 1) -> Callable[[], bool]:
                return lambda: len(prometheus.query(expr)["data"]["result"]) >= count

            _wait("every target up", scraped("up == 1", 4), 60, prometheus)
            # A malformed order only once Prometheus has the preparer's and the cook's
            # rejected counters at 0, so that it sees one rise.
            _wait(
                "the rejected counters",
                scraped(f'fishshop_records_rejected_total{{shop="{SHOP}", reason="not_json"}}', 2),
                30,
                prometheus,
            )
            orders = ShopTopics.from_prefix(default_prefix(SHOP, namespace)).orders
            asyncio.run(_produce(bootstrap, orders, b"\xff this is not an order {"))

            values = {"namespace": namespace, "shop": SHOP, **GRAFANA}
            problems = _unanswered(prometheus, values, timeout=60)

            missing = _variables_without(prometheus, values)
            # The alerts load and evaluate on the real series; of this shop's, only the
            # dead-letter one is active (the others need minutes of trouble).
            dead_letter = ("FishShopRecordsToDeadLetter", "firing", "not_json")
            # The operator cannot see this test's cook process (it is no pod), so
            # the shop reads NoCook for a moment while a plaice order waits: a
            # FishShopNotReady that is pending then goes again.
            _wait(
                "the dead-letter alert alone",
                lambda: _alerts(prometheus, namespace) == [dead_letter],
                60,
                prometheus,
            )
            active = _alerts(prometheus, namespace)
            unhealthy = [
                (rule["name"], rule.get("lastError"))
                for rule in prometheus.rules()
                if rule["health"] != "ok"
            ]
        stopped = [worker.name for worker in workers if not worker.alive]
    finally:
        for worker in workers:
            worker.terminate()

    assert not problems, "\n".join(problems)
    assert not missing
    assert not unhealthy
    assert active == [dead_letter]
    assert not stopped, [worker.log() for worker in workers]
