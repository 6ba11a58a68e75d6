"""Shared fixtures: the real Kafka broker, started once per test session."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fishshop_workers.analyst.store import make_table
from fishshop_workers.embedded.connect import EmbeddedConnect
from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.embedded.kafka_cluster import EmbeddedCluster
from fishshop_workers.embedded.postgres import (
    EmbeddedPostgres,
    PostgresStartError,
    postgres_bin_dir,
)
from fishshop_workers.embedded.redis import EmbeddedRedis
from fishshop_workers.kafka.settings import KafkaSettings
from tests.support.cluster import Cluster, build_binaries, free_port
from tests.support.kubelet import ProcessKubelet
from tests.support.processes import Worker
from tests.support.shops import namespace_of_its_own


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of tests marked alone go last: with two workers taking a file each at
    a time (make test), the other worker has the least left to wait out then. The
    order is otherwise kept (starting the long files first was tried: their servers
    then all start at once, and the run took longer)."""
    alone_files = {item.path for item in items if item.get_closest_marker("alone")}
    items.sort(key=lambda item: item.path in alone_files)


@pytest.fixture(autouse=True)
def _alone_when_asked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """A test marked alone runs while no other pytest worker runs a test: it holds the
    workers' lock exclusively, every other test holds it shared."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    alone = request.node.get_closest_marker("alone") is not None
    # The workers' base folders (popen-gw0, popen-gw1) share this run's folder.
    with (tmp_path_factory.getbasetemp().parent / "alone.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One real single-node Kafka for the session's integration tests."""
    server = EmbeddedBroker(tmp_path_factory.mktemp("kafka"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def kafka(broker: EmbeddedBroker) -> KafkaSettings:
    return KafkaSettings(broker.bootstrap_servers)


@pytest.fixture
def shop_name() -> str:
    """A shop of its own for each test, so topics never collide."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker for a test that stops or restarts it."""
    server = EmbeddedBroker(tmp_path / "kafka")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def kafka_cluster(tmp_path: Path) -> Iterator[EmbeddedCluster]:
    """Three Kafka nodes on loopback (replication 3, min ISR 2) for a test that
    kills brokers; killed at the end, its data thrown away."""
    nodes = EmbeddedCluster(tmp_path / "kafka-cluster", nodes=3)
    nodes.start()
    yield nodes
    nodes.kill()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One real redis-server (append-only file, synced at every write) for the
    session's hot cabinet tests; each test uses a shop prefix of its own."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """One real PostgreSQL for the session's analyst tests, with the served_orders
    table made; each test uses a shop of its own (rows are keyed by shop)."""
    try:
        postgres_bin_dir()
    except PostgresStartError as error:
        pytest.skip(str(error))
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
    server.start()
    asyncio.run(make_table(server.url))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def connect_worker(
    broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedConnect]:
    """One real Kafka Connect worker (distributed, one member) on the session's
    broker, with Debezium's JDBC sink installed; tests name connectors of their own."""
    worker = EmbeddedConnect(
        tmp_path_factory.mktemp("connect"),
        broker.bootstrap_servers,
        group_id=f"fishshop-connect-{uuid.uuid4().hex[:6]}",
    )
    worker.start()
    yield worker
    worker.stop()


# -- Kubernetes: a real control plane, the operator, and the process kubelet ----------

CRD = Path(__file__).resolve().parents[1] / "manifests" / "crd" / "fishshops.fishshop.dev.yaml"
SHOP_NAMESPACES = "fs-"
"""The session's operator and kubelet look after namespaces named fs-*."""


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """etcd, kube-apiserver and kube-controller-manager, with the FishShop CRD."""
    bin_dir = build_binaries()
    control_plane = Cluster(tmp_path_factory.mktemp("kube"), bin_dir)
    try:
        control_plane.start()
        control_plane.kubectl("apply", "-f", str(CRD))
        control_plane.kubectl(
            "wait", "--for=condition=Established", "crd/fishshops.fishshop.dev", "--timeout=60s"
        )
        yield control_plane
    finally:
        control_plane.stop()


def _network() -> int:
    """The pod addresses' block, 127.N.x.y: one per pytest worker (gw0 is 1, gw1 is 2),
    since every pod of a shop listens on the same metrics port of its own address."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 1 + int(worker.removeprefix("gw") or 0)


@pytest.fixture(scope="session")
def kubelet(
    cluster: Cluster, broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProcessKubelet]:
    """Runs the pods of fs-* namespaces; stops them before the broker stops."""
    harness = ProcessKubelet(
        cluster, tmp_path_factory.mktemp("pods"), prefix=SHOP_NAMESPACES, network=_network()
    )
    harness.start()
    yield harness
    harness.stop()


def operator_process(
    cluster: Cluster, log_dir: Path, name: str, watch: str, delete_patience: str = "8"
) -> Worker:
    return Worker(
        "operator",
        log_dir,
        name,
        environment={"KUBECONFIG": str(cluster.kubeconfig)},
        watch_namespace=watch,
        metrics_port=str(free_port()),
        health_port=str(free_port()),
        resync_seconds="3",
        retry_seconds="2",
        delete_patience=delete_patience,
        worker_image="fishshop:test",
        local_endpoints="allow",  # every server of the tests is on 127.0.0.1
        topic_prefixes="any",  # tests of prefixes shared across namespaces
    )


@pytest.fixture(scope="session")
def fishshop_operator(
    cluster: Cluster, kubelet: ProcessKubelet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """``fishshop operator`` as a process, watching fs-* namespaces."""
    process = operator_process(
        cluster, tmp_path_factory.mktemp("operator"), "operator", f"{SHOP_NAMESPACES}*"
    )
    process.start()
    yield process
    process.terminate(30)


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A namespace of the test's own, deleted afterwards (with everything in it)."""
    yield from namespace_of_its_own(cluster, SHOP_NAMESPACES)
