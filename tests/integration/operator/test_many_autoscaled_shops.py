"""Fifty autoscaled shops on one operator and one real broker: every queue is counted,
the operator keeps a bounded number of connections to Kafka, and its liveness check
answers at once all along.

The operator here is one of the test's own, watching fa-* namespaces, where no pod runs:
only the operator's own work is measured, and no other test competes with it (it is
marked alone: with two pytest workers, the other waits while it runs). A queue count
lends one of a few consumers per Kafka (``LENT_PER_ADDRESS``); when each count made a
consumer of its own and kept it, 50 shops meant 50 consumers and more, and the counts
could starve the event loop until the liveness check failed.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.shop.order import Order, encode_order, format_time, new_order_id
from fishshop_workers.shop.topics import default_prefix
from tests.conftest import operator_process
from tests.support.cluster import Cluster
from tests.support.processes import Worker
from tests.support.shops import namespace_of_its_own, small_shop, wait_for

pytestmark = pytest.mark.broker

SHOPS = 50
BUSY = 5
"""Shops given a queue of ``QUEUED`` orders; the others stay empty."""
QUEUED = 100
PARTITIONS = 2
WATCHED = "fa-"
"""Namespaces only this test's operator watches, and where no pod runs."""
CONNECTIONS = 16
"""At most this many connections from the operator to the broker (5 were measured):
the operator lends at most ``LENT_PER_ADDRESS`` (4) consumers per Kafka for the counts,
and its admin client and topic checks take a few more. When each count kept a
consumer of its own, 50 shops held 50 and more."""
HEALTH_SECONDS = 1.0


@pytest.fixture
def quiet_namespace(cluster: Cluster) -> Iterator[str]:
    yield from namespace_of_its_own(cluster, WATCHED)


@pytest.fixture
def many_operator(
    cluster: Cluster, quiet_namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    process = operator_process(cluster, tmp_path_factory.mktemp("many"), "many", f"{WATCHED}*")
    process.start()
    yield process
    # The shops go first, with their topics (topicDeletionPolicy: Delete), while the
    # operator still runs to delete them.
    cluster.kubectl(
        "delete", "fishshop", "--all", "-n", quiet_namespace, "--timeout=120s", check=False
    )
    process.terminate(60)


def _shop(bootstrap: str, number: int) -> dict[str, Any]:
    autoscale = {"minReplicas": 1, "maxReplicas": PARTITIONS, "ordersPerPreparer": 20}
    return small_shop(
        bootstrap,
        name=f"shop-{number:02d}",
        partitions=PARTITIONS,
        tills={"replicas": 0},
        preparers={"replicas": 1, "autoscale": autoscale},
        topicDeletionPolicy="Delete",
    )


def _queue_orders(bootstrap: str, topics: list[str], count: int) -> None:
    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            now = format_time(datetime.datetime.now(datetime.UTC))
            for topic in topics:
                for number in range(1, count + 1):
                    order = Order(new_order_id(), number, 1, (("cod", "chips"),), now)
                    await producer.send(topic, encode_order(order), key=b"1")
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(produce())


def _autoscale_status(cluster: Cluster, namespace: str) -> dict[str, dict[str, Any]]:
    """Shop name -> its status.preparers.autoscale (empty until counted)."""
    shops = json.loads(cluster.kubectl("get", "fishshop", "-n", namespace, "-o", "json"))
    return {
        shop["metadata"]["name"]: ((shop.get("status") or {}).get("preparers") or {}).get(
            "autoscale"
        )
        or {}
        for shop in shops["items"]
    }


def broker_connections(pid: int, port: int) -> int:
    """Established TCP connections of process ``pid`` to ``port``, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if state == "01" and inode in inodes and int(remote.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def _health_seconds(port: int) -> float:
    began = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
        assert answer.status == 200
    return time.monotonic() - began


@pytest.mark.slow
@pytest.mark.alone
def test_fifty_autoscaled_shops_are_all_counted_with_bounded_connections_and_a_live_loop(
    cluster: Cluster, broker: EmbeddedBroker, quiet_namespace: str, many_operator: Worker
) -> None:
    bootstrap = broker.bootstrap_servers
    shops = [_shop(bootstrap, number) for number in range(SHOPS)]
    cluster.kubectl(
        "apply", "-n", quiet_namespace, "-f", "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": shops}),
    )  # fmt: skip
    busy = [f"shop-{number:02d}" for number in range(BUSY)]

    def all_counted() -> dict[str, dict[str, Any]] | None:
        status = _autoscale_status(cluster, quiet_namespace)
        counted = len(status) == SHOPS and all("queue" in s for s in status.values())
        return status if counted else None

    began = time.monotonic()
    wait_for("every shop's queue counted once", all_counted, timeout=240, interval=2)
    print(f"every shop counted {time.monotonic() - began:.0f} s after the apply")
    _queue_orders(
        bootstrap, [f"{default_prefix(name, quiet_namespace)}.orders" for name in busy], QUEUED
    )

    # While every shop is counted every 3 s: the liveness check answers at once, and the
    # operator's connections to the broker stay few.
    pid = many_operator.process.pid if many_operator.process else 0
    port = int(bootstrap.rsplit(":", 1)[1])
    health, connections = [], []
    until = time.monotonic() + 20
    while time.monotonic() < until:
        health.append(_health_seconds(int(many_operator.variables["health_port"])))
        connections.append(broker_connections(pid, port))
        time.sleep(0.25)
    print(  # the figures, with -s
        f"{SHOPS} autoscaled shops: liveness answered in at most {max(health):.3f} s "
        f"({len(health)} checks); at most {max(connections)} connections to the broker"
    )
    assert max(health) < HEALTH_SECONDS, sorted(health)[-5:]
    assert 0 < max(connections) <= CONNECTIONS, connections

    def busy_counted() -> dict[str, dict[str, Any]] | None:
        status = _autoscale_status(cluster, quiet_namespace)
        return status if all(status[name].get("queue") == QUEUED for name in busy) else None

    status = wait_for("the busy shops' queues counted", busy_counted, timeout=60, interval=2)
    for name, autoscale in status.items():
        if name in busy:
            assert autoscale["desiredReplicas"] == PARTITIONS, (name, autoscale)
        else:
            assert autoscale["queue"] == 0, (name, autoscale)
            assert autoscale["desiredReplicas"] == 1, (name, autoscale)
    assert many_operator.alive, many_operator.log()[-3000:]
