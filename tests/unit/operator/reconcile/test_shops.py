"""One memory record per shop, shared by the Reconciler and the Autoscaler as the
operator wires them: one TLS context and one Kafka client claim per shop, and a shop
forgotten once, in one pop, with everything both loops held about it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from fishshop_operator.autoscale import autoscaler as autoscaler_module
from fishshop_operator.autoscale.autoscaler import Autoscaler
from fishshop_operator.kafka.topics import QueueState
from fishshop_operator.kube.api import KubeApi
from fishshop_operator.kube.secrets import KAFKA_TLS
from fishshop_operator.metrics import OperatorMetrics
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.reconciler import Reconciler
from fishshop_operator.reconcile.shops import ShopMemories
from tests.support.operator_bodies import shop_body
from tests.support.operator_fakes import (
    FakeKafka,
    FakeKafkaClient,
    FakeKube,
    fake_kafka_clients,
    stand_in_for_tls,
)

NAMESPACE = "seaside"
KEY = (NAMESPACE, "harbour")


@pytest.fixture
def kafka(kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch) -> FakeKafka:
    kafka.queues = QueueState(3, 25, 0)
    monkeypatch.setattr(autoscaler_module, "queue_state", kafka.queue_state)
    stand_in_for_tls(monkeypatch)
    return kafka


def _operator(tmp_path: Path) -> tuple[FakeKube, ShopMemories, Reconciler, Autoscaler]:
    autoscale = {"minReplicas": 1, "maxReplicas": 5, "ordersPerPreparer": 10}
    body = shop_body(
        "harbour",
        NAMESPACE,
        kafka={"bootstrapServers": "k:9093", "tlsSecret": "kafka-tls"},
        preparers={"replicas": 1, "autoscale": autoscale},
    )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "kafka-tls",
            "namespace": NAMESPACE,
            "uid": "s",
            "resourceVersion": "1",
        },
    }
    kube = FakeKube(body, secret)
    api = cast(KubeApi, kube)
    metrics = OperatorMetrics()
    shops = ShopMemories(api, tmp_path)
    autoscaler = Autoscaler(api, metrics, tmp_path, shops=shops)
    reconciler = Reconciler(
        api, "fishshop:test", metrics, tmp_path, workload_replicas=autoscaler.replicas, shops=shops
    )
    reconciler.track(NAMESPACE, "harbour", gone=False, body=body)
    return kube, shops, reconciler, autoscaler


async def _both_loops_at_work(
    kube: FakeKube, reconciler: Reconciler, autoscaler: Autoscaler
) -> ShopMemory:
    assert (await reconciler.reconcile(next(iter(kube.objects.values())))).result == "ready"
    decisions = await autoscaler.look_at(reconciler, KEY)
    assert decisions["preparer"].replicas == 3
    memory = reconciler.shops.get(KEY)
    assert memory is not None
    return memory


async def test_one_record_holds_what_both_loops_keep(kafka: FakeKafka, tmp_path: Path) -> None:
    kube, shops, reconciler, autoscaler = _operator(tmp_path)
    memory = await _both_loops_at_work(kube, reconciler, autoscaler)
    assert shops.keys() == {KEY}
    assert memory.autoscale.watched is not None
    assert KAFKA_TLS in memory.secrets
    assert memory.topics is not None and memory.topics[1].ready


async def test_both_loops_use_one_tls_context_and_one_kafka_pool(
    kafka: FakeKafka, tmp_path: Path
) -> None:
    kube, shops, reconciler, autoscaler = _operator(tmp_path)
    made: dict[str, list[FakeKafkaClient]] = {}
    reconciler.kafka = fake_kafka_clients(made)
    await _both_loops_at_work(kube, reconciler, autoscaler)
    contexts = {id(settings.tls_context) for _, _, settings in kafka.calls}
    assert len(contexts) == 1 and None not in {
        settings.tls_context for _, _, settings in kafka.calls
    }
    assert autoscaler.shops.kafka is reconciler.kafka is shops.kafka
    assert {what for what, _, _ in kafka.calls} == {"topics", "count"}


async def test_a_shop_is_forgotten_once_for_both(kafka: FakeKafka, tmp_path: Path) -> None:
    kube, shops, reconciler, autoscaler = _operator(tmp_path)
    await _both_loops_at_work(kube, reconciler, autoscaler)
    labels = {"namespace": NAMESPACE, "shop": "harbour", "role": "preparer"}
    registry = reconciler.metrics.registry
    assert registry.get_sample_value("fishshop_operator_desired_replicas", labels) == 3
    look = asyncio.create_task(asyncio.sleep(60))
    memory = shops.get(KEY)
    assert memory is not None
    memory.autoscale.looking = look
    reconciler.track(NAMESPACE, "harbour", gone=True)
    await asyncio.sleep(0)
    assert shops.keys() == set()
    assert autoscaler.watched() == set()
    assert look.cancelled()
    assert registry.get_sample_value("fishshop_operator_desired_replicas", labels) is None
    assert (NAMESPACE, "harbour") not in shops.kafka.users()


def test_a_shop_has_one_record_begun_when_first_asked_for(tmp_path: Path) -> None:
    shops = ShopMemories(cast(Any, FakeKube()), tmp_path)
    memory = shops.of(KEY)
    assert shops.of(KEY) is memory and KEY in shops
    assert "ShopMemory(" in repr(shops)
