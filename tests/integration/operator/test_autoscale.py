"""Preparers that follow the queue, on the real API server and broker (the harness runs
the pods): a burst of orders scales them up within bounds, the queue drains, they
scale down after the window, and an idle transactional shop reads a queue of 0."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.shop.order import Order, encode_order, format_time, new_order_id
from fishshop_workers.shop.topics import default_prefix, preparers_group
from tests.support.cluster import Cluster
from tests.support.kubelet import ProcessKubelet
from tests.support.shops import apply, audit, get, small_shop, wait_for, wait_ready

pytestmark = pytest.mark.usefixtures("fishshop_operator")

PARTITIONS = 3
MAX_REPLICAS = 5
"""Above the partitions, so the partitions are what caps the preparers."""
PER_PREPARER = 20
WINDOW = 10
BURST = 360
REACTION = 10.0
"""Seconds from a burst to the preparers' Deployment asking for more."""


def _produce_burst(bootstrap: str, topic: str, count: int) -> None:
    """``count`` orders in one transaction across every partition, as tills would
    write them; the commit leaves a transaction marker in each partition."""

    async def produce() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            transactional_id=f"burst-{new_order_id()}",
            enable_idempotence=True,
        )
        await producer.start()
        try:
            async with producer.transaction():
                now = format_time(datetime.datetime.now(datetime.UTC))
                for number in range(1, count + 1):
                    till = (number - 1) % PARTITIONS + 1
                    order = Order(new_order_id(), number, till, (("cod", "chips"),), now)
                    await producer.send(
                        topic, encode_order(order), key=str(till).encode(), partition=till - 1
                    )
        finally:
            await producer.stop()

    asyncio.run(produce())


def _offset_lag(bootstrap: str, topic: str, group: str) -> int:
    """End offsets minus the group's committed offsets: what an offset-based scaler
    (KEDA's Kafka scaler) reads as the queue. Transaction markers count in it."""

    async def read() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            ends = await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()
        return sum(ends[tp] - committed[tp].offset for tp in partitions if tp in committed)

    return asyncio.run(read())


def _autoscale(cluster: Cluster, namespace: str) -> dict[str, Any]:
    shop = get(cluster, namespace, "fishshop", "harbour") or {}
    found: dict[str, Any] = ((shop.get("status") or {}).get("preparers") or {}).get(
        "autoscale"
    ) or {}
    return found


def _deployed(cluster: Cluster, namespace: str) -> int:
    deployment = get(cluster, namespace, "deployment", "harbour-preparer") or {}
    return int((deployment.get("spec") or {}).get("replicas", -1))


@pytest.mark.slow
def test_a_burst_scales_preparers_up_within_bounds_and_down_after_the_window(
    cluster: Cluster, kubelet: ProcessKubelet, broker: EmbeddedBroker, namespace: str
) -> None:
    bootstrap = broker.bootstrap_servers
    autoscale = {
        "minReplicas": 1,
        "maxReplicas": MAX_REPLICAS,
        "ordersPerPreparer": PER_PREPARER,
        "stabilizationWindowSeconds": WINDOW,
    }
    shop = small_shop(
        bootstrap,
        partitions=PARTITIONS,
        tills={"replicas": 0},
        preparers={"replicas": 1, "prepSeconds": {"min": 0.1, "max": 0.15}, "autoscale": autoscale},
    )
    apply(cluster, namespace, shop)
    wait_ready(cluster, namespace, "harbour")
    prefix = default_prefix("harbour", namespace)
    idle = wait_for(
        "the autoscaler to count an empty queue",
        lambda: (s := _autoscale(cluster, namespace)).get("queue") == 0 and s,
    )
    assert idle["desiredReplicas"] == 1, idle
    assert _deployed(cluster, namespace) == 1

    _produce_burst(bootstrap, f"{prefix}.orders", BURST)
    burst_at = time.monotonic()
    wait_for(
        "the preparers to scale up",
        lambda: _deployed(cluster, namespace) > 1,
        timeout=REACTION,
        interval=0.25,
    )
    reacted = time.monotonic() - burst_at
    assert reacted <= REACTION

    # Up to the partitions (3), never to maxReplicas (5): a fourth would sit idle.
    seen = {_deployed(cluster, namespace)}
    status = wait_for(
        "three preparers, capped by the partitions",
        lambda: (s := _autoscale(cluster, namespace)).get("desiredReplicas") == PARTITIONS and s,
        timeout=30,
    )
    assert "capped at the topic's 3 partitions" in status["reason"], status
    assert status["lastScaleTime"]
    wait_for(
        "three preparers in the consumer group",
        lambda: len(kubelet.running(namespace, "harbour-preparer-")) == PARTITIONS,
        timeout=60,
    )

    # The queue drains; the preparers stay until the window has passed.
    low_at: float | None = None
    down_at: float | None = None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = _autoscale(cluster, namespace)
        replicas = _deployed(cluster, namespace)
        seen.add(replicas)
        now = time.monotonic()
        if low_at is None and status.get("queue", BURST) <= PER_PREPARER * (PARTITIONS - 1):
            low_at = now  # the queue asks for fewer than three from here on
        if replicas < PARTITIONS and down_at is None:
            down_at = now
        if replicas == 1 and status.get("queue") == 0:
            break
        time.sleep(0.25)
    else:
        raise AssertionError(f"never scaled back down: {_autoscale(cluster, namespace)}")
    assert low_at is not None and down_at is not None
    assert max(seen) == PARTITIONS, seen
    # The last look that asked for three came at most one interval (3 s) before low_at.
    assert down_at - low_at >= WINDOW - 4, (down_at - low_at, seen)
    final = _autoscale(cluster, namespace)
    assert final["desiredReplicas"] == 1 and final["queue"] == 0, final
    assert "kept at minReplicas 1" in final["reason"], final

    result = audit(bootstrap, namespace, "harbour", wait=30)
    assert result["orders_created"] == BURST and result["unserved"] == 0, result
    assert result["duplicates"] == 0, result

    # Idle, with transactions: the markers keep an offset-based lag above zero, while
    # the queue the operator counts (records) reads 0.
    assert _offset_lag(bootstrap, f"{prefix}.orders", preparers_group(prefix)) > 0
    assert _autoscale(cluster, namespace)["queue"] == 0
    shop_now = get(cluster, namespace, "fishshop", "harbour") or {}
    assert shop_now["spec"]["preparers"]["replicas"] == 1  # the spec was never written
