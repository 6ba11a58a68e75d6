"""The Reconciler with an analyst, against a fake of its Kubernetes client and
stand-ins for the calls to Connect and PostgreSQL: the Secret read from the shop's
own namespace only, what the connector step is given, AnalystReady beside Ready,
the metrics, and the connector deleted when the spec or the shop goes. The real API
server, Connect and PostgreSQL prove the same paths in
tests/integration/operator/test_analyst.py."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator.analyst.connector import AnalystShop, ConnectError
from fishshop_operator.analyst.decisions import (
    AnalystMemory,
    AnalystOutcome,
    ConnectorState,
    TaskState,
)
from fishshop_operator.analyst.spec import AnalystSpec
from fishshop_operator.kube.api import KubeApi
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile import analyst as analyst_step
from fishshop_operator.reconcile.reconciler import Reconciler
from fishshop_workers.analyst.database import DatabaseAddress
from tests.support.operator_bodies import shop_body
from tests.support.operator_fakes import FakeKafka, FakeKube

NAMESPACE = "seaside"
PASSWORD = "pg-pass-in-the-secret"
CONNECT = "http://connect.kafka.svc:8083"
NAME = f"fishshop.{NAMESPACE}.harbour.analyst"
RUNNING = ConnectorState("RUNNING", (TaskState(0, "RUNNING"),))


@dataclass
class FakeConnect:
    """Stands in for shop_analyst's two calls; records what they were given."""

    answer: AnalystOutcome = field(
        default_factory=lambda: AnalystOutcome(
            True, "ConnectorRunning", "runs", NAME, CONNECT, RUNNING
        )
    )
    restarted: int = 0
    delete_error: Exception | None = None
    puts: list[tuple[AnalystSpec, AnalystShop, DatabaseAddress]] = field(default_factory=list)
    deletes: list[tuple[str, str, str]] = field(default_factory=list)

    async def reconcile_analyst(
        self,
        spec: AnalystSpec,
        shop: AnalystShop,
        address: DatabaseAddress,
        memory: AnalystMemory,
        *,
        now: float,
    ) -> tuple[AnalystOutcome, int]:
        self.puts.append((spec, shop, address))
        return self.answer, self.restarted

    async def delete_connector(self, connect_url: str, connector: str, label: str) -> str:
        self.deletes.append((connect_url, connector, label))
        if self.delete_error is not None:
            raise self.delete_error
        return "deleted"


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch) -> FakeConnect:
    fake = FakeConnect()
    monkeypatch.setattr(analyst_step, "reconcile_analyst", fake.reconcile_analyst)
    monkeypatch.setattr(analyst_step, "delete_connector", fake.delete_connector)
    return fake


def _secret(namespace: str = NAMESPACE) -> dict[str, Any]:
    url = f"postgresql://analyst:{PASSWORD}@pg.pg.svc:5432/shop"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pg", "namespace": namespace},
        "data": {"url": base64.b64encode(url.encode()).decode()},
    }


def _shop(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body = shop_body(
        "harbour", NAMESPACE, analyst={"connectUrl": CONNECT, "postgresSecret": "pg"}, **spec
    )
    if status is not None:
        body["status"] = status
    return body


def _reconciler(
    kube: FakeKube, tmp_path: Path, metrics: OperatorMetrics | None = None
) -> Reconciler:
    return Reconciler(
        cast(KubeApi, kube), "fishshop:test", metrics or OperatorMetrics(), tmp_path, 0.0
    )


def _conditions(kube: FakeKube) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in kube.statuses[-1]["conditions"]}


async def test_a_shop_without_an_analyst_never_asks_connect(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path
) -> None:
    body = shop_body("harbour", NAMESPACE)
    kube = FakeKube(body)
    await _reconciler(kube, tmp_path).reconcile(body)
    assert connect.puts == [] and connect.deletes == []
    assert "AnalystReady" not in _conditions(kube)
    assert kube.statuses[-1]["analyst"] is None


async def test_the_connector_step_gets_the_shop_and_the_secrets_database(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path
) -> None:
    body = _shop()
    kube = FakeKube(body, _secret())
    outcome = await _reconciler(kube, tmp_path).reconcile(body)
    assert outcome.reason == "ShopOpen"
    [(spec, shop, address)] = connect.puts
    assert spec == AnalystSpec(CONNECT, "pg", 1)
    assert shop == AnalystShop(f"{NAMESPACE}/harbour", f"fishshop.{NAMESPACE}.harbour",
                               f"fishshop.{NAMESPACE}.harbour.served",
                               kafka.cluster_id)  # fmt: skip
    assert (address.user, address.password, address.host) == ("analyst", PASSWORD, "pg.pg.svc")
    assert _conditions(kube)["AnalystReady"]["status"] == "True"
    assert kube.statuses[-1]["analyst"]["tasks"] == [{"id": 0, "state": "RUNNING"}]


async def test_a_failed_analyst_stands_beside_a_ready_shop_and_is_counted(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path
) -> None:
    state = ConnectorState("RUNNING", (TaskState(0, "FAILED", "boom"), TaskState(1, "FAILED")))
    connect.answer = AnalystOutcome(False, "TaskFailed", "task 0 failed", NAME, CONNECT, state, 2)
    connect.restarted = 2
    body = _shop()
    kube = FakeKube(body, _secret())
    metrics = OperatorMetrics()
    outcome = await _reconciler(kube, tmp_path, metrics).reconcile(body)
    assert (outcome.result, outcome.reason) == ("ready", "ShopOpen")
    conditions = _conditions(kube)
    assert (conditions["AnalystReady"]["status"], conditions["Ready"]["status"]) == (
        "False",
        "True",
    )
    labels = {"namespace": NAMESPACE, "shop": "harbour"}
    sample = metrics.registry.get_sample_value
    assert sample("fishshop_operator_analyst_failed_tasks", labels) == 2
    assert sample("fishshop_operator_analyst_task_restarts_total", labels) == 2
    assert ("Warning", "AnalystTaskFailed", "task 0 failed") in kube.events


async def test_the_secret_is_read_from_the_shops_namespace_only(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path
) -> None:
    body = _shop()
    kube = FakeKube(body, _secret("other-ns"))
    await _reconciler(kube, tmp_path).reconcile(body)
    assert [p for p in kube.requests if "secrets" in p] == [
        f"/api/v1/namespaces/{NAMESPACE}/secrets/pg"
    ]
    analyst = _conditions(kube)["AnalystReady"]
    assert (analyst["status"], analyst["reason"]) == ("False", "SecretMissing")
    assert connect.puts == []


async def test_the_password_reaches_the_connector_step_and_nothing_else(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    connect.answer = AnalystOutcome(False, "DatabaseUnreachable", "refused", NAME, CONNECT)
    body = _shop()
    kube = FakeKube(body, _secret())
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile(body)
    said = str(kube.statuses) + str(kube.events) + caplog.text + repr(reconciler.shops)
    assert PASSWORD not in said


async def test_removing_spec_analyst_deletes_the_connector_where_the_status_says(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path
) -> None:
    placed = {"analyst": {"connector": NAME, "connectUrl": "http://old:8083", "restarts": 1}}
    body = shop_body("harbour", NAMESPACE)
    body["status"] = placed
    kube = FakeKube(body)
    connect.delete_error = ConnectError("Kafka Connect at http://old:8083 is unreachable")
    reconciler = _reconciler(kube, tmp_path)
    await reconciler.reconcile(body)
    # Not deleted yet: the status keeps where it is, so the next reconcile tries again.
    assert connect.deletes == [("http://old:8083", NAME, f"{NAMESPACE}/harbour")]
    assert _conditions(kube)["AnalystReady"]["reason"] == "ConnectorNotDeleted"
    assert kube.statuses[-1]["analyst"]["connectUrl"] == "http://old:8083"
    assert "ConnectorNotDeleted" in kube.reasons()

    connect.delete_error = None
    await reconciler.reconcile(body, check_kafka=True)
    assert len(connect.deletes) == 2
    assert kube.statuses[-1]["analyst"] is None
    assert "AnalystReady" not in _conditions(kube)


async def test_moving_the_analyst_deletes_the_old_connector_and_puts_the_new_one(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path
) -> None:
    body = _shop({"analyst": {"connector": NAME, "connectUrl": "http://old:8083"}})
    kube = FakeKube(body, _secret())
    await _reconciler(kube, tmp_path).reconcile(body)
    assert [d[0] for d in connect.deletes] == ["http://old:8083"]
    assert len(connect.puts) == 1


async def test_a_move_whose_old_connector_cannot_be_deleted_says_where_it_was_left(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path
) -> None:
    body = _shop({"analyst": {"connector": NAME, "connectUrl": "http://old:8083"}})
    kube = FakeKube(body, _secret())
    connect.delete_error = ConnectError("Kafka Connect at http://old:8083 is unreachable")
    await _reconciler(kube, tmp_path).reconcile(body)
    # The analyst follows the spec; the event says where the old connector was left.
    assert len(connect.puts) == 1
    assert "ConnectorNotDeleted" in kube.reasons()
    assert "http://old:8083" in str(kube.events)


@pytest.mark.parametrize(
    "placed",
    [
        {"connector": NAME, "connectUrl": "http://user:pw@evil:8083"},
        {"connector": "../../x", "connectUrl": CONNECT},
        {"connector": NAME},
    ],
)
async def test_a_status_that_does_not_read_as_ours_is_not_acted_on(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path, placed: dict[str, Any]
) -> None:
    body = shop_body("harbour", NAMESPACE)
    body["status"] = {"analyst": placed}
    await _reconciler(FakeKube(body), tmp_path).reconcile(body)
    assert connect.deletes == []


@pytest.mark.parametrize("policy", ["Delete", "Retain"])
async def test_deleting_the_shop_deletes_its_connector(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path, policy: str
) -> None:
    body = _shop(topicDeletionPolicy=policy)
    await _reconciler(FakeKube(body), tmp_path).delete(body)
    assert connect.deletes == [(CONNECT, NAME, f"{NAMESPACE}/harbour")]
    assert ("delete" in kafka.made()) == (policy == "Delete")


async def test_a_connect_that_is_down_does_not_keep_the_shop_from_going(
    kafka: FakeKafka, connect: FakeConnect, tmp_path: Path
) -> None:
    connect.delete_error = ConnectError("Kafka Connect at x is unreachable")
    body = _shop()
    kube = FakeKube(body)
    await _reconciler(kube, tmp_path).delete(body)
    assert "ConnectorNotDeleted" in kube.reasons()
    assert "delete" in kafka.made()
