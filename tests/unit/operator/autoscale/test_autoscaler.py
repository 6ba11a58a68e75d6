"""The autoscaler's loop with the Reconciler, against a fake of the operator's Kubernetes
client and a stand-in for the queue count: what it applies, what it writes in the
status, what it keeps across reconciles and restarts, and what it forgets. The real API
server and broker prove the same path in tests/integration/operator/test_autoscale.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator.autoscale import autoscaler as shop_autoscale
from fishshop_operator.autoscale.autoscaler import Autoscaler
from fishshop_operator.kafka.topics import QueueState
from fishshop_operator.kube.api import KubeApi, KubeApiError, object_path
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile.reconciler import Reconciler
from fishshop_operator.reconcile.shops import ShopMemories
from fishshop_operator.shop.resource import read_resource
from tests.support.operator_bodies import shop_body
from tests.support.operator_fakes import FakeKafka, FakeKube, stand_in_for_tls

NAMESPACE = "seaside"
KEY = (NAMESPACE, "harbour")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def kafka(kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch) -> FakeKafka:
    kafka.queues = QueueState(3, 0, 0)
    monkeypatch.setattr(shop_autoscale, "queue_state", kafka.queue_state)
    return kafka


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
        # As the operator wires them: one memory of the shops for both loops.
        shops = ShopMemories(api, tmp_path, clock=self.clock)
        self.autoscaler = Autoscaler(api, self.metrics, tmp_path, clock=self.clock, shops=shops)
        self.reconciler = Reconciler(
            api,
            "fishshop:test",
            self.metrics,
            tmp_path,
            0.0,
            workload_replicas=self.autoscaler.replicas,
            shops=shops,
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


class RefusingKube(FakeKube):
    """An API server that refuses to apply the preparers' Deployment while ``refuse``."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        super().__init__(*objects)
        self.refuse = False

    async def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        if self.refuse and manifest["metadata"]["name"] == "harbour-preparer":
            raise KubeApiError(409, "conflict with another field manager")
        return await super().apply(manifest)


async def test_a_decision_whose_apply_failed_is_applied_at_the_next_look(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    shop = Shop(_body(), tmp_path)
    shop.kube = RefusingKube(shop.body())
    shop.autoscaler.api = shop.reconciler.api = cast(KubeApi, shop.kube)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(6, 45, 0)
    shop.kube.refuse = True
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert shop.kube.statuses[-1]["preparers"]["autoscale"]["desiredReplicas"] == 5
    shop.kube.refuse = False
    shop.clock.now += 3
    decisions = await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert not decisions["preparer"].scaled  # decided at the first look already
    assert shop.preparers() == 5
    applies = len(shop.kube.applied)
    shop.clock.now += 3
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert len(shop.kube.applied) == applies  # applied now: not asked again


async def test_a_reconcile_that_raises_is_asked_again_at_the_next_look(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    shop = Shop(_body(), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(6, 45, 0)
    real_get = shop.kube.get

    async def unavailable(path: str) -> dict[str, Any] | None:
        raise KubeApiError(503, "the server is currently unable to handle the request")

    shop.kube.get = unavailable  # type: ignore[method-assign]
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert shop.preparers() == 1
    shop.kube.get = real_get  # type: ignore[method-assign]
    shop.clock.now += 3
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert shop.preparers() == 5


class FailingShops:
    """A reconciler whose first ``remembered`` raises; later ones say they were asked."""

    def __init__(self) -> None:
        self.asked = 0
        self.asked_again = asyncio.Event()

    def remembered(self) -> set[tuple[str, str]]:
        self.asked += 1
        if self.asked == 1:
            raise RuntimeError("something nobody expected")
        self.asked_again.set()
        return set()

    async def reconcile_by_name(self, namespace: str, name: str) -> None:
        return None


async def test_the_loop_outlives_a_look_that_raises(tmp_path: Path) -> None:
    kube = FakeKube()
    autoscaler = Autoscaler(cast(KubeApi, kube), OperatorMetrics(), tmp_path, interval=0.0)
    shops = FailingShops()
    running = asyncio.create_task(autoscaler.run(shops))
    try:
        await asyncio.wait_for(shops.asked_again.wait(), 2.0)
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running


async def test_one_shop_whose_status_cannot_be_cleared_does_not_stop_the_others(
    tmp_path: Path,
) -> None:
    shops = ("harbour", "quay")
    kube = FakeKube(*(shop_body(name, NAMESPACE) for name in shops))
    autoscaler = Autoscaler(cast(KubeApi, kube), OperatorMetrics(), tmp_path)
    patched: list[str] = []

    async def patch_status(namespace: str, name: str, status: dict[str, Any]) -> None:
        if name == "harbour":
            raise OSError("connection reset by peer")
        patched.append(name)

    kube.patch_status = patch_status  # type: ignore[method-assign]
    for name in shops:
        off = shop_body(name, NAMESPACE)
        off["status"] = {"preparers": {"autoscale": {"desiredReplicas": 5}}}
        autoscaler.replicas(read_resource(off))

    class Known:
        def remembered(self) -> set[tuple[str, str]]:
            return {(NAMESPACE, name) for name in shops}

        async def reconcile_by_name(self, namespace: str, name: str) -> None:
            return None

    await autoscaler.look(Known())
    assert patched == ["quay"]


async def test_autoscale_turned_off_and_on_between_two_looks_keeps_its_status(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    cooks = {"replicas": 1, "autoscale": {"maxReplicas": 4}}
    shop = Shop(_body(cooks=cooks), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(6, 45, 11)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    on = shop.body()
    on["status"] = {"preparers": {"autoscale": {"desiredReplicas": 5}}}
    off = {**on, "spec": {**on["spec"], "preparers": {"replicas": 1}}}
    shop.kube.put(off)
    await shop.reconciler.reconcile(shop.body())
    shop.kube.put(on)
    await shop.reconciler.reconcile(shop.body())
    written = len(shop.kube.statuses)
    shop.clock.now += 3
    await shop.autoscaler.look(shop.reconciler)
    memory = shop.reconciler.shops.get(KEY)
    assert memory is not None and memory.autoscale.looking is not None
    await memory.autoscale.looking
    autoscales = [s for s in shop.kube.statuses[written:] if "autoscale" in str(s)]
    assert {"preparers": {"autoscale": None}} not in autoscales
    assert shop.autoscaler.watched() == {KEY}


async def test_the_tls_secret_is_read_again_only_after_a_while(
    kafka: FakeKafka, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contexts = stand_in_for_tls(monkeypatch)
    kafka_spec = {"bootstrapServers": "k:9093", "tlsSecret": "kafka-tls"}
    shop = Shop(_body(kafka=kafka_spec), tmp_path)
    meta = {"name": "kafka-tls", "namespace": NAMESPACE, "uid": "s1", "resourceVersion": "1"}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    shop.kube.put(secret)
    path = object_path("v1", "Secret", NAMESPACE, "kafka-tls")
    await shop.reconciler.reconcile(shop.body())
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    reads = shop.kube.requests.count(path)
    for _ in range(9):
        shop.clock.now += 3
        await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert shop.kube.requests.count(path) == reads  # 27 s: the context is kept
    meta["resourceVersion"] = "2"  # a renewed certificate
    shop.clock.now += 3
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    assert shop.kube.requests.count(path) == reads + 1
    assert kafka.calls[-1][2].tls_context is contexts[-1]  # built anew from the renewed Secret


async def test_a_queue_taken_from_offsets_says_so_in_the_status(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    shop = Shop(_body(), tmp_path)
    await shop.reconciler.reconcile(shop.body())
    kafka.queues = QueueState(6, 45, 0, orders_estimated=True)
    await shop.autoscaler.look_at(shop.reconciler, KEY)
    reason = shop.autoscale_statuses()[-1]["reason"]
    assert reason.startswith("about 45 orders wait (estimated from offsets)")
