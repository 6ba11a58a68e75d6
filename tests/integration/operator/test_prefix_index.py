"""A fresh operator finds shops that share a topic prefix already there: it knows every
one of them before any decides who owns the prefix, so the oldest keeps the topics and
no newer one is given workloads on them, however kopf orders its first events."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fishshop_workers.embedded.kafka import EmbeddedBroker
from tests.conftest import operator_process
from tests.support.cluster import Cluster
from tests.support.shops import apply, condition, get, namespace_of_its_own, small_shop, wait_for

pytestmark = pytest.mark.broker

NEWER = 8


def _unwatched(cluster: Cluster) -> Iterator[str]:
    """A namespace that the session's operator (fs-*) does not watch."""
    yield from namespace_of_its_own(cluster, "ix-")


@pytest.fixture
def quiet_namespace(cluster: Cluster) -> Iterator[str]:
    yield from _unwatched(cluster)


@pytest.fixture
def other_namespace(cluster: Cluster) -> Iterator[str]:
    """A second one: another tenant."""
    yield from _unwatched(cluster)


def _idle_shop(bootstrap: str, name: str, prefix: str) -> dict[str, Any]:
    shop = small_shop(bootstrap, name=name, topicPrefix=prefix)
    shop["spec"]["tills"]["replicas"] = 0
    shop["spec"]["preparers"]["replicas"] = 0
    return shop


def _refused(cluster: Cluster, namespace: str, i: int) -> Callable[[], dict[str, Any] | None]:
    def probe() -> dict[str, Any] | None:
        shop = get(cluster, namespace, "fishshop", f"newer{i}")
        if shop and condition(shop, "Ready").get("reason") == "TopicsOwnedByAnotherShop":
            return shop
        return None

    return probe


def test_a_fresh_operator_leaves_a_shared_prefix_to_the_oldest_shop(
    cluster: Cluster, broker: EmbeddedBroker, quiet_namespace: str, tmp_path: Path
) -> None:
    namespace = quiet_namespace
    prefix = f"kept-{uuid.uuid4().hex[:6]}"
    apply(cluster, namespace, _idle_shop(broker.bootstrap_servers, "oldest", prefix))
    time.sleep(1.1)  # creationTimestamp counts whole seconds
    for i in range(NEWER):
        apply(cluster, namespace, _idle_shop(broker.bootstrap_servers, f"newer{i}", prefix))

    operator = operator_process(cluster, tmp_path, "operator-index", namespace)
    operator.start()
    try:
        for i in range(NEWER):
            refused = wait_for(f"newer{i} to be refused", _refused(cluster, namespace, i))
            assert f"{namespace}/oldest" in condition(refused, "Ready")["message"]
        oldest = wait_for(
            "the oldest shop's topics",
            lambda: (
                (s := get(cluster, namespace, "fishshop", "oldest"))
                and condition(s, "TopicsReady").get("status") == "True"
                and s
            ),
        )
        assert oldest["status"]["topics"]["orders"] == f"{prefix}.orders"
        made = cluster.kubectl(
            "get", "deployments,statefulsets", "-n", namespace, "-o", "name"
        ).split()
        assert made and all("/oldest-" in name for name in made), made
    finally:
        operator.terminate(30)


def test_a_tenant_cannot_take_another_namespaces_prefix(
    cluster: Cluster,
    broker: EmbeddedBroker,
    quiet_namespace: str,
    other_namespace: str,
    tmp_path: Path,
) -> None:
    """With the operator's default (--topic-prefixes namespace), a shop's own prefix
    starts with its namespace: a tenant naming the prefix another namespace's shop
    will have gets a reason and no topic, and that shop keeps its topics."""
    mine, theirs = quiet_namespace, other_namespace
    bootstrap = broker.bootstrap_servers
    apply(cluster, mine, _idle_shop(bootstrap, "squatter", f"fishshop.{theirs}.pier"))
    apply(cluster, mine, _idle_shop(bootstrap, "own", f"{mine}.own"))
    operator = operator_process(cluster, tmp_path, "operator-prefixes", f"{mine},{theirs}")
    operator.variables["topic_prefixes"] = "namespace"
    operator.start()

    def topics_ready(namespace: str, name: str) -> dict[str, Any] | None:
        shop = get(cluster, namespace, "fishshop", name)
        return shop if condition(shop, "TopicsReady").get("status") == "True" else None

    try:
        squatter = wait_for(
            "the squatter to be refused",
            lambda: (
                (s := get(cluster, mine, "fishshop", "squatter"))
                and condition(s, "Ready").get("reason") == "TopicPrefixOfAnotherNamespace"
                and s
            ),
        )
        assert f"fishshop.{theirs}.pier" in condition(squatter, "Ready")["message"]
        own = wait_for("a prefix of its own namespace", lambda: topics_ready(mine, "own"))
        assert own["status"]["topics"]["orders"] == f"{mine}.own.orders"
        apply(cluster, theirs, _idle_shop(bootstrap, "pier", f"fishshop.{theirs}.pier"))
        pier = wait_for("the rightful shop's topics", lambda: topics_ready(theirs, "pier"))
        assert pier["status"]["topics"]["orders"] == f"fishshop.{theirs}.pier.orders"
        made = cluster.kubectl("get", "deployments,statefulsets", "-n", mine, "-o", "name")
        assert "squatter" not in made
    finally:
        operator.terminate(30)
