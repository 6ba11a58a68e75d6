"""FishShop manifests and waits for the operator tests."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.support.cluster import Cluster, ClusterError

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "samples" / "harbour.yaml"
T = TypeVar("T")


def namespace_of_its_own(cluster: Cluster, prefix: str) -> Iterator[str]:
    """A new namespace named ``prefix`` and a random tail, deleted afterwards with
    everything in it. Which operator watches it, and whether the harness runs its pods,
    follows from the prefix (fs-: the session's operator and pods)."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def sample_shop(bootstrap: str, **spec: Any) -> dict[str, Any]:
    """The README's sample shop, pointed at the test broker, with ``spec`` changes."""
    shop: dict[str, Any] = yaml.safe_load(SAMPLE.read_text())
    shop["spec"]["kafka"]["bootstrapServers"] = bootstrap
    for key, value in spec.items():
        if isinstance(value, dict) and isinstance(shop["spec"].get(key), dict):
            shop["spec"][key].update(value)
        else:
            shop["spec"][key] = value
    return shop


def small_shop(bootstrap: str, name: str = "harbour", **spec: Any) -> dict[str, Any]:
    """One till, one preparer, no cook: the cheapest shop that still serves."""
    small: dict[str, Any] = {
        "tills": {"replicas": 1, "ordersPerMinute": 120},
        "preparers": {"replicas": 1, "prepSeconds": {"min": 0.0, "max": 0.05}},
        "cooks": {"replicas": 0},
    }
    for key, value in spec.items():
        if isinstance(value, dict) and isinstance(small.get(key), dict):
            small[key] = {**small[key], **value}
        else:
            small[key] = value
    shop = sample_shop(bootstrap, **small)
    shop["metadata"]["name"] = name
    return shop


def apply(cluster: Cluster, namespace: str, manifest: dict[str, Any]) -> str:
    return cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


def get(cluster: Cluster, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    out = cluster.kubectl(
        "get", kind, name, "-n", namespace, "-o", "json", "--ignore-not-found"
    ).strip()
    return json.loads(out) if out else None


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.5
) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last saw {last!r}")


def condition(shop: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    for item in ((shop or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return dict(item)
    return {}


def wait_ready(cluster: Cluster, namespace: str, name: str, timeout: float = 120.0) -> None:
    """Wait for the shop's Ready condition; a timeout says what the shop said last."""
    try:
        cluster.kubectl(
            "wait",
            "-n",
            namespace,
            "--for=condition=Ready",
            f"fishshop/{name}",
            f"--timeout={int(timeout)}s",
        )
    except ClusterError as error:
        shop = get(cluster, namespace, "fishshop", name)
        said = [
            f"{c.get('type')}={c.get('status')} {c.get('reason')}: {c.get('message')}"
            for c in ((shop or {}).get("status") or {}).get("conditions") or []
        ]
        raise ClusterError(f"{error}\nthe shop's conditions: {said}") from None


def topic_partitions(bootstrap: str, names: list[str]) -> dict[str, int]:
    """Partitions of each named topic that exists in Kafka."""
    from aiokafka.admin import AIOKafkaAdminClient

    from fishshop_workers.kafka.admin import describe_partitions

    async def read() -> dict[str, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            return await describe_partitions(admin, names)
        finally:
            await admin.close()

    return asyncio.run(read())


def group_members(bootstrap: str, group: str) -> int:
    """Members of a consumer group as the group coordinator sees them."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def read() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            described = await admin.describe_consumer_groups([group])
        finally:
            await admin.close()
        groups = described[0].groups if hasattr(described[0], "groups") else described
        for entry in groups:
            members = entry[5] if isinstance(entry, tuple) else entry["members"]
            return len(members)
        return 0

    return asyncio.run(read())


def audit(bootstrap: str, namespace: str, shop: str, wait: float = 0.0) -> dict[str, Any]:
    from tests.support.processes import audit_json

    return audit_json(bootstrap, shop, wait, namespace)
