"""End-to-end checks on a kind cluster made by `make kind-up` (`make kind-e2e`).

The same checks as the local control-plane tests, on a real cluster where real
kubelets run the fishshop image: a shop becomes Ready, serves every order, scales its
consumer group, closes, drains, audits clean, repairs drift and is deleted with its
topics. They need Docker, kind and the cluster; without them they skip and say why.
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
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}; last saw {last!r}")


def shop_json(namespace: str, name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("get", "fishshop", name, "-n", namespace, "-o", "json")))


def in_cluster(namespace: str, *command: str) -> str:
    """Run a fishshop command in a one-off pod of the fishshop image."""
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    return kubectl(
        "run", name, "-n", namespace, "--rm", "-i", "--restart=Never", "--quiet",
        f"--image={IMAGE}", "--image-pull-policy=IfNotPresent", "--command", "--",
        *command,
    )  # fmt: skip


def group_members(namespace: str, group: str) -> int:
    script = (
        "import asyncio\nfrom aiokafka.admin import AIOKafkaAdminClient\n"
        "async def main():\n"
        f"    admin = AIOKafkaAdminClient(bootstrap_servers='{KAFKA}')\n"
        "    await admin.start()\n"
        f"    groups = await admin.describe_consumer_groups(['{group}'])\n"
        "    await admin.close()\n"
        "    print(len(groups[0].groups[0][5]))\n"
        "asyncio.run(main())\n"
    )
    return int(in_cluster(namespace, "python", "-c", script).strip().splitlines()[-1])


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


def test_the_sample_shop_from_kind_up_is_ready() -> None:
    shop = shop_json("default", "harbour")
    ready = [c for c in shop["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True", ready


def test_a_shop_serves_scales_closes_and_audits_clean(namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=small_shop("e2e"))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "fishshop/e2e", "--timeout=300s")
    group = f"fishshop.{namespace}.e2e.preparers"
    assert wait_for("one preparer in the group", lambda: group_members(namespace, group) == 1)

    kubectl("scale", "-n", namespace, "fishshop/e2e", "--replicas=3")
    kubectl("rollout", "status", "-n", namespace, "deployment/e2e-preparer", "--timeout=300s")
    assert wait_for("three members", lambda: group_members(namespace, group) == 3)

    kubectl(
        "patch", "-n", namespace, "fishshop/e2e", "--type=merge", "-p", '{"spec":{"open":false}}'
    )
    wait_for(
        "an empty queue",
        lambda: (
            shop_json(namespace, "e2e")["status"].get("queuedOrders") == 0
            and not shop_json(namespace, "e2e")["status"]["open"]
        ),
        timeout=300,
    )
    out = in_cluster(
        namespace, "fishshop", "audit", "--shop", "e2e", "--namespace", namespace,
        "--bootstrap-servers", KAFKA, "--wait", "120", "--json",
    )  # fmt: skip
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["orders_created"] > 0
    assert summary["unserved"] == 0
    assert summary["duplicates"] == 0


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
    kubectl("delete", "fishshop/drift", "-n", namespace, "--timeout=120s")
    script = (
        "import asyncio\nfrom aiokafka.admin import AIOKafkaAdminClient\n"
        "async def main():\n"
        f"    admin = AIOKafkaAdminClient(bootstrap_servers='{KAFKA}')\n"
        "    await admin.start()\n"
        "    print(sorted(await admin.list_topics()))\n"
        "    await admin.close()\n"
        "asyncio.run(main())\n"
    )
    topics = in_cluster(namespace, "python", "-c", script)
    assert f"fishshop.{namespace}.drift." not in topics


ANALYST_URL = "postgresql://fishshop:fishshop-analyst@postgres.analyst.svc:5432/fishshop"


def test_the_analyst_sample_fills_postgresql() -> None:
    """With `FISHSHOP_KIND_ANALYST=1 make kind-up`: the sample shop's connector runs
    in the cluster's Connect, and its served orders reach PostgreSQL."""
    if not kubectl("get", "namespace", "analyst", "--ignore-not-found", "-o", "name"):
        pytest.skip("the analyst is not installed: run FISHSHOP_KIND_ANALYST=1 make kind-up")
    shop = shop_json("default", "harbour-analyst")
    ready = [c for c in shop["status"]["conditions"] if c["type"] == "AnalystReady"]
    assert ready and ready[0]["status"] == "True", ready

    def served_rows() -> int | None:
        report = in_cluster(
            "default", "fishshop", "report", "--postgres-url", ANALYST_URL,
            "--shop", "harbour-analyst", "--namespace", "default", "--since", "1h", "--json",
        )  # fmt: skip
        orders = int(json.loads(report)["totals"]["orders"])
        return orders or None

    wait_for("rows in the analyst's table", served_rows, timeout=300)
