"""The autoscaler's loop with the Reconciler, against a fake of the operator's Kubernetes
client and a stand-in for the queue count: what it applies, what it writes in the
status, what it keeps across reconciles and restarts, and what it forgets. The real API
server and broker prove the same path in tests/integration/test_operator_autoscale.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator import reconcile as reconcile_module
from fishshop_operator import shop_autoscale
from fishshop_operator.kube import KubeApi
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile import Reconciler
from fishshop_operator.shop_autoscale import Autoscaler
from fishshop_operator.shop_kafka import QueueState
from tests.unit.operator_bodies import shop_body
from tests.unit.operator_fakes import FakeKafka, FakeKube

NAMESPACE = "seaside"
KEY = (NAMESPACE, "harbour")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def kafka(monkeypatch: pytest.MonkeyPatch) -> FakeKafka:
    fake = FakeKafka(queues=QueueState(3, 0, 0))
    for name in ("reconcile_topics", "queue_state", "delete_shop_topics"):
        monkeypatch.setattr(reconcile_module, name, getattr(fake, name))
    monkeypatch.setattr(shop_autoscale, "queue_state", fake.queue_state)
    return fake


def _body(window: int = 30, **spec: Any) -> dict[str, Any]:
    autoscale = {
        "minReplicas": 1,
        "maxReplicas": 5,
        "ordersPerPreparer": 10,
        "stabilizationWindowSeconds": window,
    }
    spec.setdefault("preparers", {"replicas": 1, "autoscale": autoscale})
    return shop_body("harbour", NAMESPACE, **spec)


class Shop:
    """The operator's two loops around one shop in a fake API server."""

    def __init__(self, body: dict[str, Any], tmp_path: Path) -> None:
        self.kube = FakeKube(body)
        self.metrics = OperatorMetrics()
        self.clock = Clock()
        api = cast(KubeApi, self.kube)
        self.autoscaler = Autoscaler(api, self.metrics, tmp_path, clock=self.clock)
        self.reconciler = Reconciler(
            api,
            "fishshop:test",
            self.metrics,
            tmp_path,
            0.0,
            workload_replicas=self.autoscaler.replicas,
        )
        self.reconciler.track(NAMESPACE, "harbour", gone=False, body=body)

    def body(self) -> dict[str, Any]:
        return next(o for o in self.kube.objects.values() if o["kind"] == "FishShop")

    def preparers(self) -> int:
        """Replicas of the preparers' Deployment as last applied."""
        applied = [
            m
            for m in self.kube.applied
            if m["kind"] == "Deployment" and m["metadata"]["name"] == "harbour-preparer"
        ]
        return int(applied[-1]["spec"]["replicas"])

    def autoscale_statuses(self) -> list[dict[str, Any]]:
        return [s["preparers"]["autoscale"] for s in self.kube.statuses if "autoscale" in str(s)]

    def desired(self) -> float | None:
        return self.metrics.registry.get_sample_value(
            "fishshop_operator_desired_replicas",
            {"namespace": NAMESPACE, "shop": "harbour", "role": "preparer"},
        )


async def test_a_burst_scales_up_at_once_and_the_status_says_why(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    shop = Shop(_body(), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    assert shop.preparers() == 1
    assert shop.autoscaler.watched() == {KEY}

    kafka.queues = QueueState(6, 45, 0)
    decisions = await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert decisions["preparer"].replicas == 5
    assert shop.preparers() == 5  # applied through a reconcile, with the same manifests
    status = shop.autoscale_statuses()[-1]
    assert status["queue"] == 45 and status["desiredReplicas"] == 5
    assert status["reason"] == "45 orders wait, 10 per preparer: 5 preparers"
    assert status["lastScaleTime"].endswith("Z")
    assert shop.desired() == 5


async def test_never_more_than_partitions(kafka: FakeKafka, tmp_path: Path) -> None:
    shop = Shop(_body(), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(3, 500, 0)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert shop.preparers() == 3
    assert "capped at the topic's 3 partitions" in shop.autoscale_statuses()[-1]["reason"]


async def test_a_reconcile_keeps_the_decision(kafka: FakeKafka, tmp_path: Path) -> None:
    shop = Shop(_body(), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(6, 45, 0)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    await shop.reconciler.reconcile(shop.body(), check_kafka=True)
    assert shop.preparers() == 5  # not spec.preparers.replicas (1)


async def test_scales_down_after_the_window_only(kafka: FakeKafka, tmp_path: Path) -> None:
    shop = Shop(_body(window=30), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(6, 45, 0)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    kafka.queues = QueueState(6, 0, 0)
    for _ in range(5):
        shop.clock.now += 5
        await shop.autoscaler.look_at(shop.reconciler, KEY)
        assert shop.preparers() == 5
    assert "kept for the 30s window" in shop.autoscale_statuses()[-1]["reason"]
    shop.clock.now += 6
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert shop.preparers() == 1
    assert shop.autoscale_statuses()[-1]["desiredReplicas"] == 1


async def test_an_unchanged_look_writes_nothing(kafka: FakeKafka, tmp_path: Path) -> None:
    shop = Shop(_body(), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(3, 12, 0)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    sent = len(shop.kube.sent)
    shop.clock.now += 3
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert len(shop.kube.sent) == sent


async def test_cooks_follow_the_cook_queue(kafka: FakeKafka, tmp_path: Path) -> None:
    body = shop_body("harbour", NAMESPACE, cooks={"replicas": 1, "autoscale": {"maxReplicas": 4}})
    shop = Shop(body, tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(3, 100, 11)  # ordersPerCook 5: 3 cooks
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    cooks = [m for m in shop.kube.applied if m["metadata"]["name"] == "harbour-cook"]
    assert cooks[-1]["spec"]["replicas"] == 3
    assert shop.preparers() == 2  # the preparers do not autoscale: the spec's 2
    status = shop.kube.statuses[-1]
    assert status == {
        "cooks": {
            "autoscale": {
                "queue": 11,
                "desiredReplicas": 3,
                "reason": "11 orders wait, 5 per cook: 3 cooks",
                "lastScaleTime": status["cooks"]["autoscale"]["lastScaleTime"],
            }
        }
    }


async def test_a_restarted_operator_starts_from_its_last_decision(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    body = _body(partitions=6)
    body["status"] = {"preparers": {"autoscale": {"desiredReplicas": 4, "queue": 38}}}
    shop = Shop(body, tmp_path)
    await shop.reconciler.reconcile(shop.body())
    assert shop.preparers() == 4
    kafka.queues = QueueState(6, 0, 0)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert shop.preparers() == 4  # the window starts at the restart


async def test_smaller_bounds_hold_at_the_next_reconcile(kafka: FakeKafka, tmp_path: Path) -> None:
    shop = Shop(_body(), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(6, 45, 0)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    smaller = shop.body()
    smaller["spec"]["preparers"]["autoscale"]["maxReplicas"] = 2
    shop.kube.put(smaller)
    await shop.reconciler.reconcile(shop.body())
    assert shop.preparers() == 2


async def test_autoscale_turned_off_goes_back_to_the_spec_and_clears_the_status(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    shop = Shop(_body(), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(6, 45, 0)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    off = shop.body()
    del off["spec"]["preparers"]["autoscale"]
    off["status"] = {"preparers": {"autoscale": {"desiredReplicas": 5}}}
    shop.kube.put(off)
    await shop.reconciler.reconcile(shop.body())
    assert shop.preparers() == 1
    assert shop.autoscaler.watched() == set()
    assert shop.desired() is None
    await shop.autoscaler.look(shop.reconciler)
    assert shop.kube.statuses[-1] == {"preparers": {"autoscale": None}}


async def test_a_deleted_shop_is_forgotten(kafka: FakeKafka, tmp_path: Path) -> None:
    shop = Shop(_body(), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(6, 45, 0)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert shop.desired() == 5
    shop.reconciler.track(NAMESPACE, "harbour", gone=True)
    await shop.autoscaler.look(shop.reconciler)
    assert shop.autoscaler.watched() == set()
    assert shop.desired() is None


async def test_a_shop_without_autoscale_is_never_looked_at(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    shop = Shop(shop_body("harbour", NAMESPACE), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    calls = len(kafka.calls)
    await shop.autoscaler.look(shop.reconciler)
    assert shop.autoscaler.watched() == set()
    assert len(kafka.calls) == calls
