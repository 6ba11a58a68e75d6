"""How fast the operator turns FishShops into running shops, on the real control plane.

    python bench/reconcile.py [--shops 20] [--memory-shops 50]

Starts the embedded broker, the local control plane (etcd, kube-apiserver,
kube-controller-manager) and the operator as a process. Pods are marked Ready by
the test harness without running (this measures the operator and the control
plane, not how long Python workers take to start).

Prints, for N shops applied together in one ``kubectl apply``:

- apply-to-Ready latency p50 / p95 / max, through the operator;
- the same for a bare baseline on the same broker and API server: one asyncio
  function per shop that creates the topics and server-side applies the same
  objects, then waits for them to be ready (no kopf, no status, no events);
- the time for a scale change (``/scale`` subresource) to reach the Deployment;
- the operator's resident memory with no shops, with N, and with M shops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import CRD, operator_process  # noqa: E402
from tests.support.cluster import Cluster, build_binaries  # noqa: E402
from tests.support.kubelet import ProcessKubelet  # noqa: E402
from tests.support.shops import small_shop  # noqa: E402

from fishshop_operator.kube import KubeApi, object_path  # noqa: E402
from fishshop_operator.resource import read_resource  # noqa: E402
from fishshop_operator.workloads import shop_workloads  # noqa: E402
from fishshop_workers.broker.server import EmbeddedBroker  # noqa: E402
from fishshop_workers.kafka_settings import KafkaSettings  # noqa: E402
from fishshop_workers.kafka_topics import ensure_topics  # noqa: E402


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _line(label: str, values: list[float]) -> str:
    return (
        f"{label:<44} p50 {_percentile(values, 0.5):6.2f}s   p95 "
        f"{_percentile(values, 0.95):6.2f}s   max {max(values):6.2f}s   (n={len(values)})"
    )


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _shops(bootstrap: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    return [small_shop(bootstrap, name=f"shop{i:03d}") for i in range(start, start + count)]


def _ready_times(
    cluster: Cluster, namespace: str, names: set[str], started: float, patience: float
) -> dict[str, float]:
    """Seconds from ``started`` until each shop first reports Ready=True."""
    ready: dict[str, float] = {}
    deadline = time.monotonic() + patience
    while len(ready) < len(names) and time.monotonic() < deadline:
        listing = cluster.get(f"/apis/fishshop.dev/v1alpha1/namespaces/{namespace}/fishshops")
        now = time.monotonic() - started
        for shop in listing.get("items", []):
            name = shop["metadata"]["name"]
            conditions = (shop.get("status") or {}).get("conditions") or []
            if name not in ready and any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
            ):
                ready[name] = now
        time.sleep(0.05)
    if len(ready) < len(names):
        raise SystemExit(f"only {len(ready)} of {len(names)} shops became Ready")
    return ready


def _apply_all(cluster: Cluster, namespace: str, shops: list[dict[str, Any]]) -> float:
    document = {"apiVersion": "v1", "kind": "List", "items": shops}
    started = time.monotonic()
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(document))
    return started


def bench_operator(
    cluster: Cluster, bootstrap: str, count: int, memory_count: int, folder: Path
) -> list[str]:
    namespace = "bench-op"
    cluster.kubectl("create", "namespace", namespace)
    operator = operator_process(cluster, folder, "operator", namespace, delete_patience="5")
    operator.variables["resync_seconds"] = "30"
    operator.start()
    assert operator.process is not None
    time.sleep(5)
    rss_idle = _rss_mib(operator.process.pid)
    lines = []
    try:
        shops = _shops(bootstrap, count)
        started = _apply_all(cluster, namespace, shops)
        ready = _ready_times(
            cluster, namespace, {s["metadata"]["name"] for s in shops}, started, 300
        )
        lines.append(_line(f"operator: apply {count} shops -> Ready", list(ready.values())))
        rss_count = _rss_mib(operator.process.pid)

        # Scale each shop's preparers through the scale subresource.
        delays = []
        for shop in shops:
            name = shop["metadata"]["name"]
            begun = time.monotonic()
            cluster.request(
                "PATCH",
                f"/apis/fishshop.dev/v1alpha1/namespaces/{namespace}/fishshops/{name}/scale",
                {"spec": {"replicas": 2}},
                content_type="application/merge-patch+json",
            )
            path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}-preparer"
            while cluster.get(path)["spec"]["replicas"] != 2:
                time.sleep(0.02)
            delays.append(time.monotonic() - begun)
        lines.append(_line("operator: /scale -> Deployment.spec.replicas", delays))

        more = _shops(bootstrap, memory_count - count, start=count)
        started = _apply_all(cluster, namespace, more)
        _ready_times(cluster, namespace, {s["metadata"]["name"] for s in more}, started, 600)
        time.sleep(5)
        rss_many = _rss_mib(operator.process.pid)
        lines.append(
            f"operator memory (RSS): idle {rss_idle:.0f} MiB, {count} shops "
            f"{rss_count:.0f} MiB, {memory_count} shops {rss_many:.0f} MiB"
        )
    finally:
        operator.terminate(30)
    return lines


async def _bare_shop(api: KubeApi, kafka: KafkaSettings, body: dict[str, Any]) -> float:
    begun = time.monotonic()
    shop = read_resource(body)
    await ensure_topics(kafka, shop.topics, shop.spec.partitions)
    manifests = shop_workloads(shop, "fishshop:bench")
    for manifest in manifests:
        # No FishShop object owns these, so they carry no owner reference.
        del manifest["metadata"]["ownerReferences"]
        await api.apply(manifest)
    for manifest in manifests:
        if manifest["kind"] == "Service":
            continue
        meta = manifest["metadata"]
        path = object_path(
            manifest["apiVersion"], manifest["kind"], meta["namespace"], meta["name"]
        )
        while True:
            found = await api.get(path) or {}
            want = found.get("spec", {}).get("replicas", 0)
            if (found.get("status") or {}).get("readyReplicas", 0) >= want:
                break
            await asyncio.sleep(0.05)
    return time.monotonic() - begun


async def _bare(cluster: Cluster, bootstrap: str, count: int) -> list[float]:
    namespace = "bench-bare"
    cluster.kubectl("create", "namespace", namespace)
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)  # read by KubeApi's first request
    shops = []
    for body in _shops(bootstrap, count):
        body["metadata"]["namespace"] = namespace
        shops.append(body)
    async with KubeApi() as api:
        return list(
            await asyncio.gather(*(_bare_shop(api, KafkaSettings(bootstrap), b) for b in shops))
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--memory-shops", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fishshop-bench-reconcile-"))
    print("starting the broker and the control plane...", file=sys.stderr)
    broker = EmbeddedBroker(folder / "kafka")
    broker.start()
    cluster = Cluster(folder / "kube", build_binaries())
    (folder / "kube").mkdir()
    cluster.start()
    kubelet = ProcessKubelet(cluster, folder / "pods", prefix="bench-", run_processes=False)
    try:
        cluster.kubectl("apply", "-f", str(CRD))
        cluster.kubectl("wait", "--for=condition=Established", "crd/fishshops.fishshop.dev")
        kubelet.start()
        print(f"benchmarking with {args.shops} shops...", file=sys.stderr)
        lines = bench_operator(
            cluster, broker.bootstrap_servers, args.shops, args.memory_shops, folder
        )
        bare = asyncio.run(_bare(cluster, broker.bootstrap_servers, args.shops))
        lines.insert(1, _line(f"bare baseline: {args.shops} shops -> ready", bare))
    finally:
        kubelet.stop()
        cluster.stop()
        broker.stop()
    print()
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
