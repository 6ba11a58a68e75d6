"""The operator and the analyst against a real API server, a real Kafka Connect worker
(Debezium's JDBC sink) and a real PostgreSQL, with the shop's pods run by the
harness: the connector the operator puts there, its status, its failed tasks
restarted, and the connector deleted with the shop or with spec.analyst."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from fishshop_workers.analyst.connect_client import ConnectClient, ConnectError, ConnectorStatus
from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.analyst.sink import sink_connector_config
from fishshop_workers.analyst.store import row_count
from fishshop_workers.embedded.connect import EmbeddedConnect
from fishshop_workers.embedded.kafka import EmbeddedBroker, free_port
from fishshop_workers.embedded.postgres import (
    EmbeddedPostgres,
    PostgresStartError,
    postgres_bin_dir,
)
from tests.support.cluster import Cluster
from tests.support.kubelet import ProcessKubelet
from tests.support.processes import Worker, scrape
from tests.support.shops import apply, condition, get, small_shop, wait_for

SECRET = "analyst-pg"
FAILED_TASKS = "fishshop_operator_analyst_failed_tasks"
RESTARTS = "fishshop_operator_analyst_task_restarts_total"


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this module's own, which a test stops and starts again."""
    try:
        postgres_bin_dir()
    except PostgresStartError as error:
        pytest.skip(str(error))
    server = EmbeddedPostgres(tmp_path_factory.mktemp("own-postgres"))
    server.start()
    yield server
    server.stop()


def _secret(cluster: Cluster, namespace: str, url: str) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": namespace},
        "data": {"url": base64.b64encode(url.encode()).decode()},
    }
    apply(cluster, namespace, manifest)


def _analyst_shop(broker: EmbeddedBroker, connect_url: str, **analyst: Any) -> dict[str, Any]:
    return small_shop(
        broker.bootstrap_servers,
        analyst={"connectUrl": connect_url, "postgresSecret": SECRET, **analyst},
    )


def _connector(namespace: str) -> str:
    return f"fishshop.{namespace}.harbour.analyst"


T = TypeVar("T")


async def _between_rebalances(ask: Callable[[ConnectClient], Awaitable[T]], url: str) -> T:
    """Connect's answer, asked again while it says a rebalance is under way (500 or
    409 then, for a moment, after a connector is put or deleted)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            async with ConnectClient(url) as client:
                return await ask(client)
        except ConnectError as error:
            if "rebalance" not in str(error) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.5)


def _config(connect: EmbeddedConnect, name: str) -> dict[str, str] | None:
    return asyncio.run(_between_rebalances(lambda client: client.config(name), connect.url))


def _status(connect: EmbeddedConnect, name: str) -> ConnectorStatus | None:
    return asyncio.run(_between_rebalances(lambda client: client.status(name), connect.url))


def _analyst_ready(
    cluster: Cluster, namespace: str, status: str, reason: str, says: str = ""
) -> dict[str, Any]:
    last: list[dict[str, Any]] = [{}]

    def seen() -> dict[str, Any] | None:
        last[0] = condition(get(cluster, namespace, "fishshop", "harbour"), "AnalystReady")
        found = last[0]
        wanted = (found.get("status"), found.get("reason")) == (status, reason)
        return found if wanted and says in found.get("message", "") else None

    try:
        return wait_for(f"AnalystReady {status}, {reason}", seen, timeout=120)
    except AssertionError as error:
        raise AssertionError(f"{error}; the condition said {last[0]}") from None


def _rows(url: str, shop: str, more_than: int, kubelet: ProcessKubelet, namespace: str) -> int:
    def counted() -> int | None:
        rows = row_count(url, shop)
        return rows if rows > more_than else None

    try:
        return wait_for(f"more than {more_than} rows of {shop}", counted, timeout=120, interval=1)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{kubelet.logs(namespace)}") from None


def _restart_task(connect: EmbeddedConnect, name: str, task: int) -> None:
    """What a worker restart or a rebalance does to one task, through Connect's API."""
    request = urllib.request.Request(
        f"{connect.url}/connectors/{name}/tasks/{task}/restart",
        data=b"{}",
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status in {200, 202, 204}


def _metric(operator: Worker, name: str, namespace: str) -> float | None:
    _, text = scrape(int(operator.variables["metrics_port"]))
    pattern = rf'^{name}\{{namespace="{namespace}",shop="harbour"\}} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_the_connector_is_put_with_the_shops_config_follows_the_spec_and_goes_with_the_shop(
    fishshop_operator: Worker,
    cluster: Cluster,
    kubelet: ProcessKubelet,
    broker: EmbeddedBroker,
    connect_worker: EmbeddedConnect,
    postgres_server: EmbeddedPostgres,
    namespace: str,
) -> None:
    _secret(cluster, namespace, postgres_server.url)
    apply(cluster, namespace, _analyst_shop(broker, connect_worker.url))
    ready = _analyst_ready(cluster, namespace, "True", "ConnectorRunning")
    name = _connector(namespace)
    assert ready["message"] == f"connector {name} runs 1 task at {connect_worker.url}"

    shop = get(cluster, namespace, "fishshop", "harbour") or {}
    assert shop["status"]["analyst"] == {
        "connector": name,
        "connectUrl": connect_worker.url,
        "state": "RUNNING",
        "tasks": [{"id": 0, "state": "RUNNING"}],
        "restarts": 0,
    }
    config = _config(connect_worker, name) or {}
    address = DatabaseAddress.from_url(postgres_server.url)
    assert config["topics"] == shop["status"]["topics"]["served"]
    assert config["transforms.shop.static.value"] == f"{namespace}/harbour"
    assert config["consumer.override.isolation.level"] == "read_committed"
    assert config["connection.url"] == address.jdbc_url
    assert config["connection.username"] == address.user
    assert (
        config["errors.deadletterqueue.topic.name"] == f"fishshop.{namespace}.harbour.analyst-dlq"
    )
    assert config["tasks.max"] == "1"
    shown = cluster.kubectl("get", "fishshop,events", "-n", namespace, "-o", "yaml")
    assert address.password not in shown

    # The shop's own pods serve, and the served orders reach PostgreSQL.
    _rows(postgres_server.url, f"{namespace}/harbour", 0, kubelet, namespace)

    cluster.kubectl(
        "patch", "fishshop", "harbour", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"analyst": {"tasks": 2}}}),
    )  # fmt: skip

    def two_tasks() -> ConnectorStatus | None:
        status = _status(connect_worker, name)
        return status if status is not None and len(status.tasks) == 2 else None

    wait_for("the connector with two tasks", two_tasks, timeout=60)
    assert (_config(connect_worker, name) or {})["tasks.max"] == "2"
    # The status follows on the next look (it may say one task for a moment).
    _analyst_ready(cluster, namespace, "True", "ConnectorRunning", "runs 2 tasks")
    assert _metric(fishshop_operator, FAILED_TASKS, namespace) == 0

    cluster.kubectl("delete", "fishshop", "harbour", "-n", namespace, "--wait=false")
    wait_for("the connector deleted", lambda: _config(connect_worker, name) is None or None)
    wait_for(
        "the shop gone",
        lambda: get(cluster, namespace, "fishshop", "harbour") is None or None,
        timeout=60,
    )


@pytest.mark.slow
def test_a_task_that_failed_is_restarted_once_its_database_is_back(
    fishshop_operator: Worker,
    cluster: Cluster,
    kubelet: ProcessKubelet,
    broker: EmbeddedBroker,
    connect_worker: EmbeddedConnect,
    own_postgres: EmbeddedPostgres,
    namespace: str,
) -> None:
    """PostgreSQL stops while the shop serves and the sink's task starts again: it
    fails for real, and Connect leaves it failed. The operator says so, restarts it
    with backoff, and once PostgreSQL is back the rows catch up, without a change to
    the config."""
    shop = f"{namespace}/harbour"
    name = _connector(namespace)
    _secret(cluster, namespace, own_postgres.url)  # the operator makes the table
    apply(cluster, namespace, _analyst_shop(broker, connect_worker.url))
    _analyst_ready(cluster, namespace, "True", "ConnectorRunning")
    before = _rows(own_postgres.url, shop, 0, kubelet, namespace)
    config = _config(connect_worker, name)

    own_postgres.stop()
    try:
        # The sink waits a while for a database that goes away mid-stream; a task that
        # starts while it is away (after a worker restart or a rebalance) fails at once.
        _restart_task(connect_worker, name, 0)
        failed = _analyst_ready(cluster, namespace, "False", "TaskFailed")
        assert failed["message"].startswith(f"task 0 of connector {name} failed: ")
        assert "root cause: " in failed["message"], failed

        def restarted() -> int | None:
            found = get(cluster, namespace, "fishshop", "harbour") or {}
            count = int(((found.get("status") or {}).get("analyst") or {}).get("restarts") or 0)
            return count if count >= 2 else None

        # The backoff holds the second restart back for a while; both fail again.
        wait_for("two restarts while PostgreSQL is down", restarted, timeout=90)
        # Just after a restart the task runs for a moment before it fails again, so
        # the gauge reads 0 between looks; it reads 1 again once the task has failed.
        wait_for(
            "the failed task counted",
            lambda: _metric(fishshop_operator, FAILED_TASKS, namespace) == 1 or None,
            timeout=60,
        )
    finally:
        own_postgres.start()

    _analyst_ready(cluster, namespace, "True", "ConnectorRunning")
    assert _config(connect_worker, name) == config  # recovered by a restart, not a new config
    _rows(own_postgres.url, shop, before, kubelet, namespace)
    restarts = _metric(fishshop_operator, RESTARTS, namespace)
    assert restarts is not None and restarts >= 2
    assert _metric(fishshop_operator, FAILED_TASKS, namespace) == 0

    # Taking spec.analyst away takes the connector away, and the analyst's status.
    cluster.kubectl(
        "patch", "fishshop", "harbour", "-n", namespace, "--type=json",
        "-p", json.dumps([{"op": "remove", "path": "/spec/analyst"}]),
    )  # fmt: skip
    wait_for("the connector deleted", lambda: _config(connect_worker, name) is None or None)

    def analyst_gone() -> bool | None:
        found = get(cluster, namespace, "fishshop", "harbour") or {}
        status = found.get("status") or {}
        return ("analyst" not in status and not condition(found, "AnalystReady")) or None

    wait_for("status.analyst and AnalystReady gone", analyst_gone, timeout=30)


def test_an_unreachable_connect_or_a_missing_secret_is_not_ready_and_says_why(
    fishshop_operator: Worker,
    cluster: Cluster,
    broker: EmbeddedBroker,
    postgres_server: EmbeddedPostgres,
    namespace: str,
) -> None:
    apply(cluster, namespace, _analyst_shop(broker, f"http://127.0.0.1:{free_port()}"))
    missing = _analyst_ready(cluster, namespace, "False", "SecretMissing")
    assert f"Secret {namespace}/{SECRET} named by spec.analyst.postgresSecret" in missing["message"]

    _secret(cluster, namespace, postgres_server.url)
    closed = f"http://127.0.0.1:{free_port()}"
    apply(cluster, namespace, _analyst_shop(broker, closed))
    said = f"Kafka Connect at {closed} is unreachable"
    unreachable = _analyst_ready(cluster, namespace, "False", "ConnectUnreachable", said)
    assert "Check spec.analyst.connectUrl" in unreachable["message"]
    events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json")
    assert "AnalystConnectUnreachable" in events


@pytest.mark.parametrize(
    ("analyst", "message"),
    [
        ({"connectUrl": "connect:8083"}, "connectUrl must be the http:// or https:// URL"),
        ({"connectUrl": "http://admin:pw@connect:8083"}, "no user or password, query"),
        ({"connectUrl": "http://connect:8083/?debug=1"}, "no user or password, query"),
        ({"postgresSecret": "../kube-system/pg"}, "postgresSecret must be the name of a Secret"),
        ({"tasks": 9}, "spec.analyst.tasks: Invalid value: 9"),
        ({"postgresSecret": None}, "spec.analyst.postgresSecret: Required value"),
    ],
)
def test_the_crd_refuses_a_bad_analyst_with_a_readable_message(
    cluster: Cluster, namespace: str, analyst: dict[str, Any], message: str
) -> None:
    section = {"connectUrl": "http://connect:8083", "postgresSecret": SECRET, **analyst}
    shop = small_shop("kafka.kafka.svc:9092", analyst={k: v for k, v in section.items() if v})
    out = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(shop), check=False)
    assert message in out, out
    assert "created" not in out


def test_a_connector_of_the_same_name_with_another_shops_label_is_left_alone(
    fishshop_operator: Worker,
    cluster: Cluster,
    broker: EmbeddedBroker,
    connect_worker: EmbeddedConnect,
    postgres_server: EmbeddedPostgres,
    namespace: str,
) -> None:
    """Names can collide (a prefix set by hand); rows carry the shop's label, and the
    operator never takes, changes or deletes a connector labelled for another shop."""
    name = _connector(namespace)
    theirs = sink_connector_config(
        shop="elsewhere/harbour",
        topic_prefix=name.removesuffix(".analyst"),
        database=DatabaseAddress.from_url(postgres_server.url),
    )

    async def put() -> None:
        async with ConnectClient(connect_worker.url) as client:
            await client.put_config(name, theirs)

    asyncio.run(put())
    try:
        _secret(cluster, namespace, postgres_server.url)
        apply(cluster, namespace, _analyst_shop(broker, connect_worker.url))
        refused = _analyst_ready(cluster, namespace, "False", "ConnectorOwnedByAnotherShop")
        assert "elsewhere/harbour" in refused["message"]
        assert _config(connect_worker, name) == {**theirs, "name": name}

        cluster.kubectl("delete", "fishshop", "harbour", "-n", namespace, "--timeout=120s")
        assert _config(connect_worker, name) == {**theirs, "name": name}
    finally:

        async def remove() -> None:
            async with ConnectClient(connect_worker.url) as client:
                await client.delete(name)

        asyncio.run(remove())
