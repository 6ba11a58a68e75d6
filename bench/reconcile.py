"""How fast the operator turns FishShops into running shops, and what hundreds cost it.

    python bench/reconcile.py [--shops 20] [--many-shops 300] [--resync 10]

Starts the embedded broker, the local control plane (etcd, kube-apiserver,
kube-controller-manager) and the operator as a process. Pods are marked Ready by
the test harness without running (this measures the operator and the control
plane, not how long Python workers take to start).

Prints, side by side in one run on the same broker and API server:

- apply-to-Ready latency p50 / p95 / max for N shops applied together in one
  ``kubectl apply``, through the operator and through a bare baseline (one asyncio
  function per shop that creates the topics and server-side applies the same
  objects, then waits for them to be ready: no kopf, no status, no events), and the
  operator's ratio to the baseline;
- the time for a scale change (``/scale`` subresource) to reach the Deployment;
- with N and then M shops: the time of one full resync round (every shop's topics
  and queues checked against Kafka), API requests per reconcile (read from the
  operator's ``fishshop_operator_api_requests_total`` over that round), and the
  operator's resident memory.
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
from tests.support.processes import Worker, scrape  # noqa: E402
from tests.support.shops import small_shop  # noqa: E402

from fishshop_operator.constants import API_VERSION, GROUP, KIND, PLURAL  # noqa: E402
from fishshop_operator.kube.api import KubeApi, object_path  # noqa: E402
from fishshop_operator.shop.resource import read_resource  # noqa: E402
from fishshop_operator.shop.workloads import shop_workloads  # noqa: E402
from fishshop_workers.embedded.kafka import EmbeddedBroker  # noqa: E402
from fishshop_workers.kafka.admin import ensure_topics  # noqa: E402
from fishshop_workers.kafka.settings import KafkaSettings  # noqa: E402


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
        listing = cluster.get(object_path(API_VERSION, KIND, namespace))
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


def _totals(operator: Worker) -> dict[str, float]:
    """The operator's counters, summed over their labels."""
    _, text = scrape(int(operator.variables["metrics_port"]))
    names = {
        "fishshop_operator_api_requests_total": "requests",
        "fishshop_operator_reconciliations_total": "reconciles",
        "fishshop_operator_resync_round_seconds_count": "rounds",
        "fishshop_operator_resync_round_seconds_sum": "round_seconds",
    }
    totals = dict.fromkeys(names.values(), 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in names:
            totals[names[name]] += float(line.rsplit(" ", 1)[1])
    return totals


def _next_round(operator: Worker, after: float, patience: float) -> dict[str, float]:
    """The counters once the resync round after ``after`` rounds has ended."""
    deadline = time.monotonic() + patience
    while True:
        totals = _totals(operator)
        if totals["rounds"] > after:
            return totals
        if time.monotonic() > deadline:
            raise SystemExit(f"no resync round ended within {patience:.0f} s")
        time.sleep(0.2)


def _round_line(operator: Worker, count: int, patience: float) -> str:
    """One full resync round with ``count`` shops: its time and API requests per reconcile.

    The first round that ends is skipped (it may have begun before every shop was
    Ready); the next one is measured from its first reconcile to its last.
    """
    first = _next_round(operator, _totals(operator)["rounds"], patience)
    second = _next_round(operator, first["rounds"], patience)
    reconciles = second["reconciles"] - first["reconciles"]
    requests = second["requests"] - first["requests"]
    seconds = second["round_seconds"] - first["round_seconds"]
    per = requests / reconciles if reconciles else float("nan")
    return (
        f"operator: {count:>3} shops, one resync round {seconds:6.2f}s, "
        f"{reconciles:.0f} reconciles, {per:4.1f} API requests per reconcile"
    )


def bench_operator(
    cluster: Cluster, bootstrap: str, count: int, many: int, resync: float, folder: Path
) -> tuple[list[float], list[str]]:
    """Apply-to-Ready latencies of ``count`` shops, and lines on scale, rounds and memory."""
    namespace = "bench-op"
    cluster.kubectl("create", "namespace", namespace)
    operator = operator_process(cluster, folder, "operator", namespace, delete_patience="5")
    operator.variables["resync_seconds"] = str(resync)
    operator.start()
    assert operator.process is not None
    _totals(operator)  # serving metrics: started
    time.sleep(2)
    rss_idle = _rss_mib(operator.process.pid)
    lines = []
    patience = 60 + many * 2.0
    try:
        shops = _shops(bootstrap, count)
        started = _apply_all(cluster, namespace, shops)
        ready = _ready_times(
            cluster, namespace, {s["metadata"]["name"] for s in shops}, started, 300
        )
        rss_count = _rss_mib(operator.process.pid)

        # Scale each shop's preparers through the scale subresource.
        delays = []
        for shop in shops:
            name = shop["metadata"]["name"]
            begun = time.monotonic()
            cluster.request(
                "PATCH",
                object_path(API_VERSION, KIND, namespace, name) + "/scale",
                {"spec": {"replicas": 2}},
                content_type="application/merge-patch+json",
            )
            path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}-preparer"
            while cluster.get(path)["spec"]["replicas"] != 2:
                time.sleep(0.02)
            delays.append(time.monotonic() - begun)
        lines.append(_line("operator: /scale -> Deployment.spec.replicas", delays))
        lines.append(_round_line(operator, count, patience))

        if many > count:
            print(f"applying {many - count} more shops...", file=sys.stderr)
            more = _shops(bootstrap, many - count, start=count)
            started = _apply_all(cluster, namespace, more)
            names = {s["metadata"]["name"] for s in more}
            _ready_times(cluster, namespace, names, started, patience)
            lines.append(_round_line(operator, many, patience))
        rss_many = _rss_mib(operator.process.pid)
        lines.append(
            f"operator memory (RSS): idle {rss_idle:.0f} MiB, {count} shops "
            f"{rss_count:.0f} MiB, {many} shops {rss_many:.0f} MiB"
        )
    finally:
        operator.terminate(30)
    return list(ready.values()), lines


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


def _ratio_line(label: str, operator: list[float], bare: list[float]) -> str:
    p50 = _percentile(operator, 0.5) / _percentile(bare, 0.5)
    p95 = _percentile(operator, 0.95) / _percentile(bare, 0.95)
    return f"{label:<44} p50 {p50:5.2f}x   p95 {p95:5.2f}x   (aim: at most 1.15x)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=20, help="shops applied together")
    parser.add_argument("--many-shops", type=int, default=300, help="shops for the scale figures")
    parser.add_argument("--resync", type=float, default=10.0, help="the operator's resync (s)")
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
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{PLURAL}.{GROUP}")
        kubelet.start()
        print(f"benchmarking the bare baseline with {args.shops} shops...", file=sys.stderr)
        bare = asyncio.run(_bare(cluster, broker.bootstrap_servers, args.shops))
        print(f"benchmarking the operator with {args.shops} shops...", file=sys.stderr)
        latencies, lines = bench_operator(
            cluster,
            broker.bootstrap_servers,
            args.shops,
            args.many_shops,
            args.resync,
            folder,
        )
    finally:
        kubelet.stop()
        cluster.stop()
        broker.stop()
    print()
    print(_line(f"operator: apply {args.shops} shops -> Ready", latencies))
    print(_line(f"bare baseline: {args.shops} shops -> ready", bare))
    print(_ratio_line("operator / bare baseline", latencies, bare))
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
