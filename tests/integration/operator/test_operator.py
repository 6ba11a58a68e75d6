"""The operator against a real API server and a real broker; the harness runs the pods."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fishshop_workers.embedded.kafka import EmbeddedBroker
from tests.support.cluster import Cluster
from tests.support.kubelet import ProcessKubelet
from tests.support.processes import Worker, scrape
from tests.support.shops import (
    apply,
    audit,
    condition,
    get,
    group_members,
    sample_shop,
    small_shop,
    topic_partitions,
    wait_for,
    wait_ready,
)

pytestmark = pytest.mark.usefixtures("fishshop_operator")


def _env(workload: dict[str, Any]) -> dict[str, Any]:
    container = workload["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = workload["spec"]["template"]["spec"]["containers"][0]
    return container


def test_sample_shop_becomes_ready_with_its_topics_and_workloads(
    cluster: Cluster, kubelet: ProcessKubelet, broker: EmbeddedBroker, namespace: str
) -> None:
    apply(cluster, namespace, sample_shop(broker.bootstrap_servers))
    wait_ready(cluster, namespace, "harbour", timeout=120)

    shop = get(cluster, namespace, "fishshop", "harbour")
    assert shop is not None
    status = shop["status"]
    assert status["observedGeneration"] == shop["metadata"]["generation"]
    for kind in ("Ready", "TopicsReady", "WorkersAvailable"):
        found = condition(shop, kind)
        assert found["status"] == "True", found
        assert found["observedGeneration"] == shop["metadata"]["generation"]
        assert found["lastTransitionTime"] and found["reason"] and found["message"]
    prefix = f"fishshop.{namespace}.harbour"
    assert status["topics"] == {
        "orders": f"{prefix}.orders",
        "cook": f"{prefix}.cook",
        "served": f"{prefix}.served",
        "dlq": f"{prefix}.dlq",
        "partitions": 3,
    }
    assert status["tills"]["replicas"] == 3 and status["tills"]["readyReplicas"] == 3
    assert status["preparers"]["replicas"] == 2 and status["preparers"]["readyReplicas"] == 2
    assert status["cooks"]["replicas"] == 1 and status["cooks"]["readyReplicas"] == 1
    assert status["preparers"]["selector"] == (
        "fishshop.dev/shop=harbour,app.kubernetes.io/component=preparer"
    )

    # The topics exist in Kafka with the partitions asked for.
    assert topic_partitions(
        broker.bootstrap_servers, [status["topics"][k] for k in ("orders", "cook", "served", "dlq")]
    ) == {
        f"{prefix}.orders": 3,
        f"{prefix}.cook": 3,
        f"{prefix}.served": 3,
        f"{prefix}.dlq": 1,
    }

    # The workloads match the spec field by field.
    tills = get(cluster, namespace, "statefulset", "harbour-till")
    preparers = get(cluster, namespace, "deployment", "harbour-preparer")
    cooks = get(cluster, namespace, "deployment", "harbour-cook")
    assert tills and preparers and cooks
    assert tills["spec"]["replicas"] == 3
    assert preparers["spec"]["replicas"] == 2
    assert cooks["spec"]["replicas"] == 1
    assert _container(tills)["command"] == ["fishshop", "till"]
    assert _container(preparers)["command"] == ["fishshop", "preparer"]
    assert _container(cooks)["command"] == ["fishshop", "cook"]
    common = {
        "FISHSHOP_SHOP": "harbour",
        "FISHSHOP_NAMESPACE": namespace,
        "FISHSHOP_TOPIC_PREFIX": prefix,
        "FISHSHOP_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "FISHSHOP_METRICS_PORT": "8000",
    }
    assert (
        _env(tills).items()
        >= {
            **common,
            "FISHSHOP_ORDERS_PER_MINUTE": "40",
            "FISHSHOP_PLAICE": "true",
        }.items()
    )
    assert (
        _env(preparers).items()
        >= {
            **common,
            "FISHSHOP_PREP_MIN": "0.5",
            "FISHSHOP_PREP_MAX": "1",
        }.items()
    )
    assert (
        _env(cooks).items()
        >= {**common, "FISHSHOP_COOK_MIN": "3", "FISHSHOP_COOK_MAX": "3.2"}.items()
    )
    for workload in (tills, preparers, cooks):
        container = _container(workload)
        pod = workload["spec"]["template"]["spec"]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["resources"]["requests"]["cpu"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["ports"][0]["name"] == "metrics"
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "fishshop"
        assert labels["fishshop.dev/shop"] == "harbour"
        owner = workload["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("FishShop", "harbour", True)
        assert owner["uid"] == shop["metadata"]["uid"]

    # Tills are numbered 1..3 by their StatefulSet ordinals, one per partition.
    names = sorted(p.name for p in kubelet.running(namespace, "harbour-till-"))
    assert names == ["harbour-till-0", "harbour-till-1", "harbour-till-2"]

    table = cluster.kubectl("get", "shop", "-n", namespace)
    header = table.splitlines()[0].split()
    assert header == ["NAME", "READY", "OPEN", "PARTITIONS", "TILLS", "PREPARERS", "COOKS", "AGE"]
    assert table.splitlines()[1].split()[:7] == ["harbour", "True", "true", "3", "3", "2", "1"]


def test_shop_serves_every_order_and_scales_its_preparers(
    cluster: Cluster, kubelet: ProcessKubelet, broker: EmbeddedBroker, namespace: str
) -> None:
    bootstrap = broker.bootstrap_servers
    shop = small_shop(bootstrap, partitions=4, tills={"replicas": 2, "ordersPerMinute": 300})
    apply(cluster, namespace, shop)
    wait_ready(cluster, namespace, "harbour", timeout=120)
    group = f"fishshop.{namespace}.harbour.preparers"
    wait_for("one preparer in the group", lambda: group_members(bootstrap, group) == 1)

    cluster.kubectl("scale", "-n", namespace, "fishshop/harbour", "--replicas=3")
    wait_for(
        "three preparer processes",
        lambda: len(kubelet.running(namespace, "harbour-preparer-")) == 3,
        timeout=60,
    )
    wait_for("three members in the group", lambda: group_members(bootstrap, group) == 3, 90)
    scaled = get(cluster, namespace, "fishshop", "harbour")
    assert scaled is not None and scaled["spec"]["preparers"]["replicas"] == 3
    wait_for(
        "the status to count three ready preparers",
        lambda: (
            (get(cluster, namespace, "fishshop", "harbour") or {})
            .get("status", {})
            .get("preparers", {})
            .get("readyReplicas")
            == 3
        ),
        timeout=60,
    )
    scale = json.loads(
        cluster.kubectl(
            "get",
            "--raw",
            f"/apis/fishshop.dev/v1alpha1/namespaces/{namespace}/fishshops/harbour/scale",
        )
    )
    assert scale["spec"]["replicas"] == 3
    assert scale["status"]["selector"] == (
        "fishshop.dev/shop=harbour,app.kubernetes.io/component=preparer"
    )

    cluster.kubectl("scale", "-n", namespace, "fishshop/harbour", "--replicas=1")
    wait_for(
        "one preparer process",
        lambda: len(kubelet.running(namespace, "harbour-preparer-")) == 1,
        timeout=60,
    )
    wait_for("one member in the group", lambda: group_members(bootstrap, group) == 1, 90)

    # Close the shop: the tills stop, the queue drains, every order is served once.
    cluster.kubectl(
        "patch",
        "-n",
        namespace,
        "fishshop/harbour",
        "--type=merge",
        "-p",
        '{"spec":{"open":false}}',
    )
    wait_for(
        "the tills to stop", lambda: not kubelet.running(namespace, "harbour-till-"), timeout=60
    )
    closed = wait_for(
        "a closed shop with an empty queue",
        lambda: (
            (s := get(cluster, namespace, "fishshop", "harbour"))
            and condition(s, "Ready").get("reason") == "ShopClosed"
            and s["status"].get("queuedOrders") == 0
            and s
        ),
        timeout=120,
    )
    assert closed["status"]["open"] is False
    assert "0 orders still queued" in condition(closed, "Ready")["message"]
    summary = audit(bootstrap, namespace, "harbour", wait=60)
    assert summary["orders_created"] > 20, summary
    assert summary["unserved"] == 0 and summary["duplicates"] == 0, summary

    # Open it again: the tills come back and carry on.
    cluster.kubectl(
        "patch", "-n", namespace, "fishshop/harbour", "--type=merge", "-p", '{"spec":{"open":true}}'
    )
    wait_for(
        "two tills again",
        lambda: len(kubelet.running(namespace, "harbour-till-")) == 2,
        timeout=60,
    )
    wait_ready(cluster, namespace, "harbour", timeout=60)
    again = get(cluster, namespace, "fishshop", "harbour")
    assert again is not None and condition(again, "Ready")["reason"] == "ShopOpen"


def test_editing_a_shop_grows_partitions_and_rolls_the_right_workers(
    cluster: Cluster, kubelet: ProcessKubelet, broker: EmbeddedBroker, namespace: str
) -> None:
    bootstrap = broker.bootstrap_servers
    apply(cluster, namespace, small_shop(bootstrap, partitions=2))
    wait_ready(cluster, namespace, "harbour", timeout=120)
    preparers_before = get(cluster, namespace, "deployment", "harbour-preparer")
    assert preparers_before is not None

    edited = small_shop(bootstrap, partitions=5, tills={"replicas": 2, "ordersPerMinute": 90})
    apply(cluster, namespace, edited)
    prefix = f"fishshop.{namespace}.harbour"
    wait_for(
        "the orders topic to grow to 5 partitions",
        lambda: topic_partitions(bootstrap, [f"{prefix}.orders"]).get(f"{prefix}.orders") == 5,
        timeout=60,
    )
    tills = wait_for(
        "the tills to be changed",
        lambda: (
            (t := get(cluster, namespace, "statefulset", "harbour-till"))
            and t["spec"]["replicas"] == 2
            and t
        ),
    )
    assert _env(tills)["FISHSHOP_ORDERS_PER_MINUTE"] == "90"
    wait_for(
        "the status to report 5 partitions",
        lambda: (
            (get(cluster, namespace, "fishshop", "harbour") or {})
            .get("status", {})
            .get("topics", {})
            .get("partitions")
            == 5
        ),
    )
    # The preparers' pod template did not change, so they were not rolled.
    preparers_after = get(cluster, namespace, "deployment", "harbour-preparer")
    assert preparers_after is not None
    assert preparers_after["metadata"]["generation"] == preparers_before["metadata"]["generation"]
    wait_ready(cluster, namespace, "harbour", timeout=120)

    # Shrinking partitions is refused by the API server itself.
    refused = cluster.kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(small_shop(bootstrap, partitions=3)),
        check=False,
    )
    assert "never shrink" in refused


def test_plaice_without_a_cook_is_said_plainly_and_served_once_one_comes(
    cluster: Cluster,
    kubelet: ProcessKubelet,
    broker: EmbeddedBroker,
    namespace: str,
    fishshop_operator: Worker,
) -> None:
    bootstrap = broker.bootstrap_servers
    # Orders (about 3 in 10 with plaice) wait while there is no preparer.
    shop = small_shop(bootstrap, tills={"ordersPerMinute": 600}, cooks={"replicas": 1})
    shop["spec"]["preparers"]["replicas"] = 0
    apply(cluster, namespace, shop)
    wait_ready(cluster, namespace, "harbour", timeout=120)
    wait_for(
        "twenty orders queued",
        lambda: _status(cluster, namespace).get("queuedOrders", 0) >= 20,
        timeout=90,
    )
    # Close the shop, send the cook home and hire a preparer: plaice goes to the cook
    # topic and stays there.
    patch = {"open": False, "preparers": {"replicas": 1}, "cooks": {"replicas": 0}}
    cluster.kubectl(
        "patch", "-n", namespace, "fishshop/harbour", "--type=merge",
        "-p", json.dumps({"spec": patch}),
    )  # fmt: skip
    stuck = wait_for(
        "Ready=False because orders wait for a cook",
        lambda: (
            (s := get(cluster, namespace, "fishshop", "harbour"))
            and condition(s, "Ready").get("reason") == "NoCook"
            and s
        ),
        timeout=120,
    )
    waiting = stuck["status"]["queuedForCook"]
    assert waiting > 0
    assert condition(stuck, "Ready")["status"] == "False"
    orders = "1 order waits" if waiting == 1 else f"{waiting} orders wait"
    assert condition(stuck, "Ready")["message"] == (
        f"{orders} for a cook; scale spec.cooks.replicas"
    )
    assert condition(stuck, "WorkersAvailable")["reason"] == "NoCook"
    _, text = scrape(int(fishshop_operator.variables["metrics_port"]))
    gauge = f'fishshop_operator_shop_queued_for_cook{{namespace="{namespace}",shop="harbour"}}'
    assert any(line.startswith(gauge) and float(line.split()[-1]) > 0 for line in text.splitlines())
    wide = cluster.kubectl("get", "shop", "harbour", "-n", namespace, "-o", "wide")
    assert "FOR-COOK" in wide.splitlines()[0]

    # A cook comes: the plaice is cooked and served, once.
    cluster.kubectl(
        "patch", "-n", namespace, "fishshop/harbour", "--type=merge",
        "-p", '{"spec":{"cooks":{"replicas":1}}}',
    )  # fmt: skip
    wait_for(
        "every order served and nothing waiting for a cook",
        lambda: (
            (s := get(cluster, namespace, "fishshop", "harbour"))
            and condition(s, "Ready").get("reason") == "ShopClosed"
            and s["status"].get("queuedForCook") == 0
            and s["status"].get("queuedOrders") == 0
        ),
        timeout=120,
    )
    summary = audit(bootstrap, namespace, "harbour", wait=60)
    assert summary["unserved"] == 0 and summary["duplicates"] == 0, summary
    assert summary["orders_created"] >= 20, summary


def _status(cluster: Cluster, namespace: str, name: str = "harbour") -> dict[str, Any]:
    return dict((get(cluster, namespace, "fishshop", name) or {}).get("status") or {})
