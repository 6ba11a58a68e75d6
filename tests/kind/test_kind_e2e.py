"""End-to-end checks on a kind cluster made by `make kind-up` (`make kind-e2e`).

The same checks as the local control-plane tests, on a real cluster where real
kubelets run the fishshop image: a shop becomes Ready, serves every order, scales its
consumer group, closes, drains, audits clean, repairs drift and is deleted with its
topics; Prometheus scrapes the workers; the hot cabinet's books balance with Redis and
the analyst's table has one row per served order. They need kind, kubectl and the
cluster; without them they skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

CLUSTER = os.environ.get("FISHSHOP_KIND_CLUSTER", "fishshop")
CONTEXT = f"kind-{CLUSTER}"
IMAGE = os.environ.get("FISHSHOP_IMAGE", "fishshop:0.1.0")
KAFKA = "kafka.kafka.svc:9092"
KAFKA_IMAGE = os.environ.get("FISHSHOP_KAFKA_IMAGE", "apache/kafka:4.2.1")
T = TypeVar("T")


def _why_not() -> str | None:
    """Why these tests cannot run here, or None when they can.

    The cluster may run on Docker or on Podman (scripts/kind/engine.sh chooses; `make
    kind-e2e` sets KIND_EXPERIMENTAL_PROVIDER for Podman), so kind itself is asked.
    """
    if shutil.which("kind") is None or shutil.which("kubectl") is None:
        return "needs kind and kubectl on PATH: run `make kind-up` first"
    clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True)
    if CLUSTER not in clusters.stdout.split():
        return f"needs the kind cluster {CLUSTER!r}: run `make kind-up` first"
    return None


REASON = _why_not()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def kubectl(*args: str, check: bool = True, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["kubectl", "--context", CONTEXT, *args],
        capture_output=True,
        text=True,
        input=stdin,
        check=False,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}")
    return result.stdout


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 180.0) -> T:
    """Probe until it returns something true; a probe that fails (a one-off pod that
    exits non-zero, a command that times out) counts as "not yet"."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except (AssertionError, subprocess.TimeoutExpired) as error:
            last = error
        else:
            if result:
                return result
            last = result
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}; last saw {last!r}")


def shop_json(namespace: str, name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("get", "fishshop", name, "-n", namespace, "-o", "json")))


def in_cluster(namespace: str, *command: str, image: str = IMAGE) -> str:
    """Run a command in a one-off pod (of the fishshop image unless told) and return its
    output. Not `kubectl run -i`: on a busy node a short pod can end before kubectl
    attaches, and its output is lost."""
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    kubectl(
        "run", name, "-n", namespace, "--restart=Never", f"--image={image}",
        "--image-pull-policy=IfNotPresent", "--command", "--", *command,
    )  # fmt: skip
    try:

        def ended() -> str | None:
            phase = kubectl("get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}")
            return phase if phase in ("Succeeded", "Failed") else None

        phase = wait_for(f"the one-off pod {name} to end", ended, timeout=300)
        output = kubectl("logs", name, "-n", namespace)
        if phase == "Failed":
            raise AssertionError(f"{' '.join(command)} failed in the cluster:\n{output[-3000:]}")
        return output
    finally:
        kubectl("delete", "pod", name, "-n", namespace, "--wait=false", check=False)


def served_ids_by_console_consumer(namespace: str, topic: str) -> list[str]:
    """The order ids in a served topic, read committed by Kafka's own console consumer
    in the cluster: a second reader beside fishshop's audit."""
    out = in_cluster(
        namespace, "/opt/kafka/bin/kafka-console-consumer.sh", "--bootstrap-server", KAFKA,
        "--topic", topic, "--from-beginning", "--timeout-ms", "20000",
        "--consumer-property", "isolation.level=read_committed",
        image=KAFKA_IMAGE,
    )  # fmt: skip
    return [json.loads(line)["id"] for line in out.splitlines() if line.startswith("{")]


def admin_call(namespace: str, call: str) -> Any:
    """The JSON-printed result of an AIOKafkaAdminClient call (an expression of
    `admin`), made from a pod in the cluster."""
    script = (
        "import asyncio, json\nfrom aiokafka.admin import AIOKafkaAdminClient\n"
        "async def main():\n"
        f"    admin = AIOKafkaAdminClient(bootstrap_servers='{KAFKA}')\n"
        "    await admin.start()\n"
        f"    result = {call}\n"
        "    await admin.close()\n"
        "    print(json.dumps(result))\n"
        "asyncio.run(main())\n"
    )
    return json.loads(in_cluster(namespace, "python", "-c", script).strip().splitlines()[-1])


def group_members(namespace: str, group: str) -> list[str]:
    """The hosts (\"/<pod IP>\") of the group's members."""
    call = f"[m[2] for m in (await admin.describe_consumer_groups(['{group}']))[0].groups[0][5]]"
    return list(admin_call(namespace, call))


def topics(namespace: str) -> list[str]:
    return list(admin_call(namespace, "sorted(await admin.list_topics())"))


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


def small_shop(name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "fishshop.dev/v1alpha1",
            "kind": "FishShop",
            "metadata": {"name": name},
            "spec": {
                "kafka": {"bootstrapServers": KAFKA},
                "partitions": 4,
                "tills": {"replicas": 2, "ordersPerMinute": 120},
                "preparers": {"replicas": 1, "prepSeconds": {"min": 0.1, "max": 0.2}},
                "cooks": {"replicas": 1, "cookSeconds": {"min": 0.5, "max": 1.0}},
            },
        }
    )


def ready_status(shop: dict[str, Any], kind: str = "Ready") -> str | None:
    return next(
        (c["status"] for c in shop.get("status", {}).get("conditions", []) if c["type"] == kind),
        None,
    )


def close_and_audit(
    namespace: str, shop: str, *options: str, reopen: bool = False
) -> dict[str, Any]:
    """Close the shop, wait until its queue is empty, and return `fishshop audit
    --json`'s summary, run in the cluster (with ``options``: its cabinet, its table).
    ``reopen``: a sample shop opens again afterwards, for the next run of the checks."""
    kubectl("patch", "-n", namespace, f"fishshop/{shop}", "--type=merge",
            "-p", '{"spec":{"open":false}}')  # fmt: skip

    def drained() -> bool:
        status = shop_json(namespace, shop).get("status", {})
        return status.get("queuedOrders") == 0 and status.get("open") is False

    try:
        wait_for(f"{shop}'s queue to empty", drained, timeout=300)
        out = in_cluster(
            namespace, "fishshop", "audit", "--shop", shop, "--namespace", namespace,
            "--bootstrap-servers", KAFKA, "--wait", "180", "--json", *options,
        )  # fmt: skip
    finally:
        if reopen:
            kubectl("patch", "-n", namespace, f"fishshop/{shop}", "--type=merge",
                    "-p", '{"spec":{"open":true}}', check=False)  # fmt: skip
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_the_sample_shop_from_kind_up_is_ready() -> None:
    shop = shop_json("default", "harbour")
    assert ready_status(shop) == "True", shop.get("status")


def test_a_shop_serves_scales_survives_a_killed_preparer_and_audits_clean(namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=small_shop("e2e"))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "fishshop/e2e", "--timeout=300s")
    group = f"fishshop.{namespace}.e2e.preparers"
    wait_for("one preparer in the group", lambda: len(group_members(namespace, group)) == 1)

    kubectl("scale", "-n", namespace, "fishshop/e2e", "--replicas=3")
    kubectl("rollout", "status", "-n", namespace, "deployment/e2e-preparer", "--timeout=300s")
    wait_for("three members", lambda: len(group_members(namespace, group)) == 3)

    # A preparer deleted mid-stream with no grace period: its pod is gone at once and
    # the group must take its partitions back without losing or doubling an order.
    victim = kubectl("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=preparer",
                     "-o", "jsonpath={.items[0].metadata.name}")  # fmt: skip
    victim_ip = kubectl("get", "pod", victim, "-n", namespace, "-o", "jsonpath={.status.podIP}")
    kubectl("delete", "pod", victim, "-n", namespace, "--grace-period=0", "--force")
    wait_for(
        "three members, none of them the deleted preparer",
        lambda: (
            len(hosts := group_members(namespace, group)) == 3
            and not any(host.endswith(f"/{victim_ip}") for host in hosts)
        ),
        timeout=300,
    )

    summary = close_and_audit(namespace, "e2e")
    assert summary["orders_created"] > 0
    assert summary["unserved"] == 0
    assert summary["duplicates"] == 0
    served = served_ids_by_console_consumer(namespace, f"fishshop.{namespace}.e2e.served")
    assert len(served) == len(set(served)) == summary["orders_served"], (
        len(served), len(set(served)), summary)  # fmt: skip


def test_drift_is_repaired_and_deletion_removes_the_topics(namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=small_shop("drift"))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "fishshop/drift", "--timeout=300s")
    before = json.loads(
        kubectl("get", "deployment", "drift-preparer", "-n", namespace, "-o", "json")
    )
    kubectl("delete", "deployment", "drift-preparer", "-n", namespace)
    wait_for(
        "the Deployment to come back",
        lambda: (out := kubectl("get", "deployment", "drift-preparer", "-n", namespace,
                                "-o", "json", check=False))
        and json.loads(out)["metadata"]["uid"] != before["metadata"]["uid"],
    )  # fmt: skip
    prefix = f"fishshop.{namespace}.drift."
    mine = [topic for topic in topics(namespace) if topic.startswith(prefix)]
    assert len(mine) >= 3, mine
    kubectl("delete", "fishshop/drift", "-n", namespace, "--timeout=120s")
    wait_for(
        "the shop's topics to be gone",
        lambda: not any(topic.startswith(prefix) for topic in topics(namespace)),
        timeout=120,
    )


PROMETHEUS = "http://prometheus-operated.monitoring.svc:9090"


def prometheus(path: str) -> Any:
    """GET a path of the cluster's Prometheus API (from a pod in the cluster)."""
    script = (
        "import urllib.request\n"
        f"print(urllib.request.urlopen('{PROMETHEUS}{path}', timeout=20).read().decode())\n"
    )
    return json.loads(in_cluster("default", "python", "-c", script))["data"]


def test_prometheus_scrapes_every_worker_and_loads_the_alert_rules() -> None:
    """The chart's PodMonitor makes Prometheus scrape each worker of the sample shop,
    labelled with its shop; its PrometheusRule's groups are loaded."""
    running = kubectl(
        "get", "pods", "-n", "default", "-l", "fishshop.dev/shop=harbour",
        "--field-selector=status.phase=Running", "-o", "json",
    )  # fmt: skip
    pods = json.loads(running)["items"]
    workers = {pod["metadata"]["name"] for pod in pods}
    assert len(workers) >= 3, workers

    def scraped_up() -> set[str] | None:
        targets = prometheus("/api/v1/targets?state=active")["activeTargets"]
        up = {
            t["labels"].get("pod", "")
            for t in targets
            if t["health"] == "up" and t["labels"].get("shop") == "harbour"
        }
        return up if workers <= up else None

    wait_for("every harbour worker scraped and up", scraped_up, timeout=180)
    groups = {g["name"] for g in prometheus("/api/v1/rules")["groups"]}
    assert {"fishshop.shop", "fishshop.operator"} <= groups, groups


ANALYST_URL = "postgresql://fishshop:fishshop-analyst@postgres.analyst.svc:5432/fishshop"


def test_the_analyst_sample_fills_postgresql() -> None:
    """With `FISHSHOP_KIND_ANALYST=1 make kind-up`: the sample shop's connector runs
    in the cluster's Connect, and its served orders reach PostgreSQL."""
    if not kubectl("get", "namespace", "analyst", "--ignore-not-found", "-o", "name"):
        pytest.skip("the analyst is not installed: run FISHSHOP_KIND_ANALYST=1 make kind-up")
    shop = shop_json("default", "harbour-analyst")
    assert ready_status(shop, "AnalystReady") == "True", shop.get("status")

    def served_rows() -> int | None:
        report = in_cluster(
            "default", "fishshop", "report", "--postgres-url", ANALYST_URL,
            "--shop", "harbour-analyst", "--namespace", "default", "--since", "1h", "--json",
        )  # fmt: skip
        orders = int(json.loads(report)["totals"]["orders"])
        return orders or None

    wait_for("rows in the analyst's table", served_rows, timeout=300)
    # Closed and drained: one row per served order, none missing, extra or different.
    summary = close_and_audit(
        "default", "harbour-analyst", "--postgres-url", ANALYST_URL, reopen=True
    )
    assert summary["unserved"] == summary["duplicates"] == 0, summary
    analyst = summary["analyst"]
    assert analyst["rows"] >= summary["orders_served"] > 0, summary
    assert analyst["missing"] == analyst["extra"] == analyst["differ"] == 0, summary


REDIS_URL = "redis://fishshop-redis.fishshop-system.svc:6379/0"


def test_the_hot_cabinet_sample_serves_from_redis_and_its_books_balance() -> None:
    """With `FISHSHOP_KIND_REDIS=1 make kind-up`: the sample shop with a hot cabinet
    serves from the chart's Redis, and once closed and drained, the cabinet's books
    balance and agree with Kafka's served orders."""
    if not kubectl("get", "fishshop", "harbour-hot-cabinet", "-n", "default",
                   "--ignore-not-found", "-o", "name"):  # fmt: skip
        pytest.skip("the hot cabinet is not installed: run FISHSHOP_KIND_REDIS=1 make kind-up")
    kubectl("wait", "-n", "default", "--for=condition=Ready", "fishshop/harbour-hot-cabinet",
            "--timeout=300s")  # fmt: skip
    summary = close_and_audit(
        "default", "harbour-hot-cabinet", "--redis-url", REDIS_URL, reopen=True
    )
    assert summary["orders_created"] > 0, summary
    assert summary["unserved"] == summary["duplicates"] == 0, summary
    assert sum(item["served"] for item in summary["cabinet"].values()) > 0, summary
    assert summary["cabinet_gaps"] == summary["cabinet_kafka_gaps"] == {}, summary
