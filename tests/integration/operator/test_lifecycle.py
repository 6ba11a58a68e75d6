"""Deletion, drift repair, errors only the operator can see, and a killed operator."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fishshop_workers.embedded.kafka import EmbeddedBroker
from tests.conftest import operator_process
from tests.support.cluster import Cluster
from tests.support.kubelet import ProcessKubelet
from tests.support.processes import Worker, scrape
from tests.support.shops import (
    apply,
    condition,
    get,
    namespace_of_its_own,
    small_shop,
    topic_partitions,
    wait_for,
    wait_ready,
)


def _topics(namespace: str, name: str = "harbour") -> list[str]:
    prefix = f"fishshop.{namespace}.{name}"
    return [f"{prefix}.{suffix}" for suffix in ("orders", "cook", "served", "dlq")]


def _events(cluster: Cluster, namespace: str, reason: str) -> list[str]:
    out = cluster.kubectl(
        "get",
        "events",
        "-n",
        namespace,
        "--field-selector",
        f"reason={reason}",
        "-o",
        "json",
    )
    return [item["message"] for item in json.loads(out)["items"]]


@pytest.mark.slow
@pytest.mark.usefixtures("fishshop_operator")
@pytest.mark.parametrize("policy", ["Delete", "Retain"])
def test_deleting_a_shop_removes_its_workloads_and_follows_its_topic_policy(
    cluster: Cluster,
    kubelet: ProcessKubelet,
    broker: EmbeddedBroker,
    namespace: str,
    policy: str,
) -> None:
    bootstrap = broker.bootstrap_servers
    apply(cluster, namespace, small_shop(bootstrap, topicDeletionPolicy=policy))
    wait_ready(cluster, namespace, "harbour")
    shop = get(cluster, namespace, "fishshop", "harbour")
    assert shop is not None
    finalizers = shop["metadata"].get("finalizers", [])
    if policy == "Retain":
        assert finalizers == [], "Retain must not block deletion with a finalizer"
    else:
        assert finalizers, "Delete needs a finalizer to remove the topics first"

    cluster.kubectl("delete", "-n", namespace, "fishshop/harbour", "--timeout=60s")
    assert get(cluster, namespace, "fishshop", "harbour") is None
    wait_for(
        "the workloads to be garbage-collected",
        lambda: (
            get(cluster, namespace, "deployment", "harbour-preparer") is None
            and get(cluster, namespace, "statefulset", "harbour-till") is None
        ),
        timeout=60,
    )
    wait_for("the pods to stop", lambda: not kubelet.running(namespace), timeout=60)
    left = topic_partitions(bootstrap, _topics(namespace))
    if policy == "Delete":
        wait_for(
            "the topics to be gone",
            lambda: not topic_partitions(bootstrap, _topics(namespace)),
            timeout=30,
        )
    else:
        assert set(left) == set(_topics(namespace))


@pytest.mark.usefixtures("fishshop_operator")
def test_deleting_a_shop_while_kafka_is_down_gives_up_with_a_warning(
    cluster: Cluster, own_broker: EmbeddedBroker, namespace: str
) -> None:
    shop = small_shop(own_broker.bootstrap_servers, tills={"replicas": 0})
    shop["spec"]["preparers"]["replicas"] = 0
    apply(cluster, namespace, shop)
    wait_ready(cluster, namespace, "harbour")
    own_broker.kill()

    started = time.monotonic()
    cluster.kubectl("delete", "-n", namespace, "fishshop/harbour", "--timeout=90s")
    took = time.monotonic() - started
    assert get(cluster, namespace, "fishshop", "harbour") is None
    # The session's operator gives up after 8 s of retries (--delete-patience).
    assert took < 60, f"deletion took {took:.0f}s"
    messages = wait_for(
        "a TopicsNotDeleted warning", lambda: _events(cluster, namespace, "TopicsNotDeleted")
    )
    assert "Delete them by hand" in messages[0]


@pytest.mark.usefixtures("fishshop_operator")
def test_drift_is_repaired(
    cluster: Cluster, kubelet: ProcessKubelet, broker: EmbeddedBroker, namespace: str
) -> None:
    bootstrap = broker.bootstrap_servers
    apply(cluster, namespace, small_shop(bootstrap))
    wait_ready(cluster, namespace, "harbour")
    first = get(cluster, namespace, "deployment", "harbour-preparer")
    assert first is not None

    # A deleted workload comes back.
    cluster.kubectl("delete", "-n", namespace, "deployment/harbour-preparer", "--wait=false")
    back = wait_for(
        "the preparers' Deployment to come back",
        lambda: (
            (d := get(cluster, namespace, "deployment", "harbour-preparer"))
            and d["metadata"]["uid"] != first["metadata"]["uid"]
            and d
        ),
        timeout=60,
    )
    assert back["spec"]["replicas"] == 1

    # A hand edit to a field the operator manages is put back.
    cluster.kubectl("scale", "-n", namespace, "statefulset/harbour-till", "--replicas=4")
    cluster.kubectl(
        "set", "env", "-n", namespace, "deployment/harbour-preparer", "FISHSHOP_PREP_MAX=9"
    )
    wait_for(
        "the tills to be put back to 1",
        lambda: (
            (get(cluster, namespace, "statefulset", "harbour-till") or {})
            .get("spec", {})
            .get("replicas")
            == 1
        ),
        timeout=60,
    )

    def prep_max() -> str | None:
        deployment = get(cluster, namespace, "deployment", "harbour-preparer") or {}
        env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        return next((e.get("value") for e in env if e["name"] == "FISHSHOP_PREP_MAX"), None)

    wait_for("FISHSHOP_PREP_MAX to be put back", lambda: prep_max() == "0.05", timeout=60)

    # A deleted topic comes back (at the next resync).
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def delete_dlq() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([_topics(namespace)[3]])
        finally:
            await admin.close()

    asyncio.run(delete_dlq())
    wait_for(
        "the dead-letter topic to come back",
        lambda: _topics(namespace)[3] in topic_partitions(bootstrap, _topics(namespace)),
        timeout=60,
    )
    wait_ready(cluster, namespace, "harbour", timeout=60)


@pytest.mark.usefixtures("fishshop_operator")
def test_what_only_the_operator_can_find_out_shows_in_the_status(
    cluster: Cluster, broker: EmbeddedBroker, namespace: str
) -> None:
    from tests.support.cluster import free_port

    nowhere = f"127.0.0.1:{free_port()}"
    apply(cluster, namespace, small_shop(nowhere, name="nowhere"))
    shop = wait_for(
        "Ready=False because Kafka is unreachable",
        lambda: (
            (s := get(cluster, namespace, "fishshop", "nowhere"))
            and condition(s, "Ready").get("reason") == "KafkaUnreachable"
            and s
        ),
        timeout=90,
    )
    ready = condition(shop, "Ready")
    assert ready["status"] == "False"
    assert nowhere in ready["message"]
    assert condition(shop, "TopicsReady")["status"] == "False"
    assert wait_for(
        "a KafkaUnreachable event", lambda: _events(cluster, namespace, "KafkaUnreachable")
    )
    assert get(cluster, namespace, "deployment", "nowhere-preparer") is None

    # Two shops asking for the same topics: the older one keeps them.
    bootstrap = broker.bootstrap_servers
    prefix = f"shared-{uuid.uuid4().hex[:6]}"
    first = small_shop(bootstrap, name="first", topicPrefix=prefix)
    first["spec"]["tills"]["replicas"] = 0
    first["spec"]["preparers"]["replicas"] = 0
    apply(cluster, namespace, first)
    wait_ready(cluster, namespace, "first")
    second = small_shop(bootstrap, name="second", topicPrefix=prefix)
    apply(cluster, namespace, second)
    clash = wait_for(
        "the second shop to be refused its topics",
        lambda: (
            (s := get(cluster, namespace, "fishshop", "second"))
            and condition(s, "Ready").get("reason") == "TopicsOwnedByAnotherShop"
            and s
        ),
    )
    assert f"{namespace}/first" in condition(clash, "Ready")["message"]
    assert get(cluster, namespace, "deployment", "second-preparer") is None


@pytest.mark.usefixtures("fishshop_operator")
def test_the_operator_serves_metrics_and_liveness(
    fishshop_operator: Worker, cluster: Cluster, broker: EmbeddedBroker, namespace: str
) -> None:
    shop = small_shop(broker.bootstrap_servers, tills={"replicas": 0})
    shop["spec"]["preparers"]["replicas"] = 0
    apply(cluster, namespace, shop)
    wait_ready(cluster, namespace, "harbour")
    _, text = scrape(int(fishshop_operator.variables["metrics_port"]))
    ready = [
        line
        for line in text.splitlines()
        if line.startswith('fishshop_operator_reconciliations_total{result="ready"}')
    ]
    assert ready
    assert float(ready[0].split()[-1]) >= 1
    assert "fishshop_operator_reconcile_duration_seconds_bucket" in text
    status, _ = scrape(int(fishshop_operator.variables["health_port"]), "/healthz")
    assert status == 200
    log = fishshop_operator.log()
    assert f"action=created kind=Deployment name={namespace}/harbour-preparer" in log


@pytest.fixture
def solo_namespace(cluster: Cluster) -> Iterator[str]:
    """A namespace the session's operator does not watch."""
    yield from namespace_of_its_own(cluster, "solo-")


def test_an_operator_killed_mid_reconcile_converges_without_duplicates(
    cluster: Cluster, broker: EmbeddedBroker, solo_namespace: str, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    names = [f"shop{i}" for i in range(6)]
    for name in names:
        apply(cluster, solo_namespace, small_shop(bootstrap, name=name, partitions=2))
    operator = operator_process(cluster, tmp_path, "operator", solo_namespace)
    operator.start()
    try:
        wait_for(
            "the operator to be busy",
            lambda: "action=created" in operator.log(),
            timeout=60,
            interval=0.05,
        )
        assert operator.process is not None
        operator.process.send_signal(signal.SIGKILL)
        operator.process.wait()
        operator.start()

        def converged() -> bool:
            for name in names:
                shop = get(cluster, solo_namespace, "fishshop", name)
                if condition(shop, "TopicsReady").get("status") != "True":
                    return False
                if condition(shop, "WorkersAvailable").get("reason") != "PodsNotReady":
                    return False
            return True

        # No kubelet serves this namespace, so pods never become ready: the shops
        # converge to "topics ready, waiting for pods".
        wait_for("every shop to converge", converged, timeout=120)
    finally:
        operator.terminate(30)

    for kind, per_shop in (("statefulsets", 1), ("deployments", 2), ("services", 1)):
        out = json.loads(cluster.kubectl("get", kind, "-n", solo_namespace, "-o", "json"))
        owners = [item["metadata"]["ownerReferences"][0]["name"] for item in out["items"]]
        assert sorted(owners) == sorted(names * per_shop), kind
    replica_sets = json.loads(cluster.kubectl("get", "rs", "-n", solo_namespace, "-o", "json"))
    # One ReplicaSet per Deployment: the restarted operator did not roll anything.
    assert len(replica_sets["items"]) == 2 * len(names)
    for name in names:
        assert topic_partitions(bootstrap, _topics(solo_namespace, name)) == {
            _topics(solo_namespace, name)[0]: 2,
            _topics(solo_namespace, name)[1]: 2,
            _topics(solo_namespace, name)[2]: 2,
            _topics(solo_namespace, name)[3]: 1,
        }


def _orders_in(bootstrap: str, topic: str) -> int:
    """Offsets written to ``topic`` (records and transaction markers) across partitions."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition

    partitions = topic_partitions(bootstrap, [topic]).get(topic, 0)

    async def read() -> int:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await consumer.start()
        try:
            assignment = [TopicPartition(topic, p) for p in range(partitions)]
            ends = await consumer.end_offsets(assignment)
            starts = await consumer.beginning_offsets(assignment)
            return sum(ends[tp] - starts[tp] for tp in assignment)
        finally:
            await consumer.stop()

    return asyncio.run(read())


@pytest.mark.usefixtures("fishshop_operator")
def test_deleting_a_shop_refused_its_prefix_leaves_the_owners_topics_and_orders(
    cluster: Cluster, kubelet: ProcessKubelet, broker: EmbeddedBroker, namespace: str
) -> None:
    bootstrap = broker.bootstrap_servers
    prefix = f"owned-{uuid.uuid4().hex[:6]}"
    topics = [f"{prefix}.{suffix}" for suffix in ("orders", "cook", "served", "dlq")]
    # The owner takes orders that nobody prepares: they wait in its orders topic.
    owner = small_shop(bootstrap, name="first", topicPrefix=prefix, tills={"ordersPerMinute": 600})
    owner["spec"]["preparers"]["replicas"] = 0
    apply(cluster, namespace, owner)
    wait_ready(cluster, namespace, "first")
    wait_for(
        "orders queued in the owner's shop",
        lambda: (
            ((get(cluster, namespace, "fishshop", "first") or {}).get("status") or {}).get(
                "queuedOrders", 0
            )
            >= 5
        ),
        timeout=90,
    )
    refused = small_shop(bootstrap, name="second", topicPrefix=prefix)
    apply(cluster, namespace, refused)
    wait_for(
        "the second shop to be refused its topics",
        lambda: (
            condition(get(cluster, namespace, "fishshop", "second"), "Ready").get("reason")
            == "TopicsOwnedByAnotherShop"
        ),
    )
    # Close the owner so that its queue stops moving, then count what it holds.
    cluster.kubectl(
        "patch", "-n", namespace, "fishshop/first", "--type=merge", "-p", '{"spec":{"open":false}}'
    )
    wait_for("the tills to stop", lambda: not kubelet.running(namespace, "first-till-"), 60)
    before = _orders_in(bootstrap, topics[0])
    assert before >= 5

    cluster.kubectl("delete", "-n", namespace, "fishshop/second", "--timeout=60s")
    assert get(cluster, namespace, "fishshop", "second") is None
    kept = wait_for("a TopicsKept event", lambda: _events(cluster, namespace, "TopicsKept"))
    assert f"belong to shop {namespace}/first" in kept[0]
    time.sleep(4)  # a resync of the owner, and any late reconcile of the deleted shop
    assert set(topic_partitions(bootstrap, topics)) == set(topics)
    assert _orders_in(bootstrap, topics[0]) == before
    shop = get(cluster, namespace, "fishshop", "first")
    assert condition(shop, "Ready")["status"] == "True"
    assert shop is not None and shop["status"]["queuedOrders"] >= 5
    assert not _events(cluster, namespace, "TopicsNotDeleted")


@pytest.mark.usefixtures("fishshop_operator")
def test_a_shop_cannot_read_a_secret_of_another_namespace(cluster: Cluster, namespace: str) -> None:
    """The API server refuses a path for a name; a plain name is looked up in the shop's
    own namespace only, so another namespace's Secret stays out of reach."""
    other = f"{namespace}-other"
    cluster.kubectl("create", "namespace", other)
    try:
        cluster.kubectl(
            "create", "secret", "generic", "kafka-tls", "-n", other,
            "--from-literal=ca.pem=THE-OTHER-NAMESPACES-CA",
        )  # fmt: skip
        shop = small_shop("kafka.kafka.svc:9093")
        shop["spec"]["kafka"]["tlsSecret"] = f"../../{other}/secrets/kafka-tls"
        refused = cluster.kubectl(
            "apply", "-n", namespace, "-f", "-", input=json.dumps(shop), check=False
        )
        assert "tlsSecret must be the name of a Secret in the shop's own namespace" in refused
        assert get(cluster, namespace, "fishshop", "harbour") is None

        shop["spec"]["kafka"]["tlsSecret"] = "kafka-tls"
        apply(cluster, namespace, shop)
        found = wait_for(
            "Ready=False because the Secret is not in the shop's namespace",
            lambda: (
                (s := get(cluster, namespace, "fishshop", "harbour"))
                and condition(s, "Ready").get("reason") == "TLSSecretInvalid"
                and s
            ),
            timeout=60,
        )
        message = condition(found, "Ready")["message"]
        assert f"Secret {namespace}/kafka-tls" in message
        assert "does not exist" in message
        assert other not in json.dumps(found["status"])
        assert "THE-OTHER" not in json.dumps(found["status"])
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)


@pytest.mark.usefixtures("fishshop_operator")
def test_an_oversized_tls_secret_is_refused(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    big = tmp_path / "ca.pem"
    big.write_bytes(b"-" * (65 * 1024))
    cluster.kubectl(
        "create", "secret", "generic", "kafka-tls", "-n", namespace, f"--from-file=ca.pem={big}"
    )
    shop = small_shop("kafka.kafka.svc:9093")
    shop["spec"]["kafka"]["tlsSecret"] = "kafka-tls"
    apply(cluster, namespace, shop)
    found = wait_for(
        "Ready=False because the Secret is too large",
        lambda: (
            (s := get(cluster, namespace, "fishshop", "harbour"))
            and condition(s, "Ready").get("reason") == "TLSSecretInvalid"
            and s
        ),
        timeout=60,
    )
    assert "ca.pem is larger than 64 KiB" in condition(found, "Ready")["message"]
    assert get(cluster, namespace, "deployment", "harbour-preparer") is None


def test_shops_that_stay_broken_do_not_keep_a_new_shop_waiting(
    cluster: Cluster, broker: EmbeddedBroker, solo_namespace: str, tmp_path: Path
) -> None:
    """More broken shops than the operator handles at once (each names a TLS Secret
    that does not exist): they are retried by the operator's own loop, not by holding
    kopf's workers, so a good shop applied after them is still reconciled."""
    broken = [f"broken{i}" for i in range(3)]
    for name in broken:
        shop = small_shop(broker.bootstrap_servers, name=name)
        shop["spec"]["kafka"]["tlsSecret"] = "never-made"
        apply(cluster, solo_namespace, shop)
    operator = operator_process(cluster, tmp_path, "operator", solo_namespace)
    operator.environment["FISHSHOP_OPERATOR_CONCURRENCY"] = "2"
    # No full round within the test: only the retries can try the broken shops again.
    operator.variables["resync_seconds"] = "600"
    operator.start()
    try:

        def refused(name: str) -> bool:
            shop = get(cluster, solo_namespace, "fishshop", name)
            return condition(shop, "Ready").get("status") == "False"

        wait_for("the broken shops to say so", lambda: all(map(refused, broken)), timeout=60)
        apply(cluster, solo_namespace, small_shop(broker.bootstrap_servers, name="good"))

        def topics_ready() -> bool:
            shop = get(cluster, solo_namespace, "fishshop", "good")
            return condition(shop, "TopicsReady").get("status") == "True"

        wait_for("the good shop's topics", topics_ready, timeout=60)
        # The broken ones are still tried again, --retry-seconds after each failure.
        port = int(operator.variables["metrics_port"])

        def failed() -> float:
            _, text = scrape(port)
            name = 'fishshop_operator_reconciliations_total{result="error"}'
            found = [line.split()[-1] for line in text.splitlines() if line.startswith(name)]
            return float(found[0]) if found else 0.0

        before = failed()
        wait_for("the broken shops tried again", lambda: failed() >= before + 3, timeout=30)
    finally:
        operator.terminate(30)
