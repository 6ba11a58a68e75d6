"""A Kafka cluster of several KRaft nodes on loopback, for tests that kill brokers.

Every node is broker and controller, the voters are static, and internal and new
topics keep a copy on every node with all but one in sync (three nodes: replication
factor 3, min.insync.replicas 2), so one node may die at any moment and writes go on.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from fishshop_workers.embedded.jars import BrokerFetchError, ensure_jars
from fishshop_workers.embedded.kafka import BrokerStartError, EmbeddedBroker, free_port, kafka_uuid
from fishshop_workers.embedded.kafka_properties import QuorumSeat

__all__ = ["EmbeddedCluster", "find_group_coordinator", "out_of_sync_partitions"]

GROUP = 0
"""FindCoordinator's key type for a consumer group."""

CLUSTER_PROPERTIES = {
    # Leaders (group and transaction coordinators among them) move back to a
    # node seconds after it returns, not within Kafka's default 5 minutes: a
    # restart then moves each coordinator twice, as it would in production.
    "leader.imbalance.check.interval.seconds": "5",
}


class EmbeddedCluster:
    """``nodes`` Kafka nodes (ids 1..n) sharing one cluster id, each its own JVM
    tied to this process like ``EmbeddedBroker``."""

    def __init__(
        self,
        data_dir: Path,
        nodes: int = 3,
        heap_mb: int = 384,
        progress: TextIO | None = sys.stderr,
        extra_properties: Mapping[str, str] | None = None,
        ports: Sequence[int] | None = None,
    ) -> None:
        """``ports``: the nodes' client ports, in node order (default: free ones)."""
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        if ports is not None and len(ports) != nodes:
            raise ValueError(f"{nodes} nodes need {nodes} ports, not {len(ports)}")
        self.data_dir = data_dir
        self.progress = progress
        voters = {node_id: free_port() for node_id in range(1, nodes + 1)}
        cluster_id = kafka_uuid()
        self.nodes = {
            node_id: EmbeddedBroker(
                data_dir / f"node-{node_id}",
                port=ports[node_id - 1] if ports else None,
                heap_mb=heap_mb,
                progress=progress,
                extra_properties={**CLUSTER_PROPERTIES, **(extra_properties or {})},
                seat=QuorumSeat(node_id, voters, cluster_id),
            )
            for node_id in voters
        }

    @property
    def bootstrap_servers(self) -> str:
        """Every node's address: clients find the cluster through any living one."""
        return ",".join(node.bootstrap_servers for node in self.nodes.values())

    def node(self, node_id: int) -> EmbeddedBroker:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise ValueError(f"no node {node_id}; nodes are {sorted(self.nodes)}") from None

    def start(self, timeout: float = 120.0) -> None:
        """Start every node and wait until each serves.

        The nodes start together: a controller elects a leader only once a
        majority of voters is up, and a broker says it started only after that.
        """
        libs = self._libs()
        try:
            with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
                # Formatting is a JVM run per node: side by side is faster.
                list(pool.map(lambda node: node.launch(libs), self.nodes.values()))
            for node in self.nodes.values():
                node.wait_ready(timeout)
        except BaseException:
            self.kill()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node in order; all at once, so no node waits for a quorum
        that the others took away."""
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            list(pool.map(lambda node: node.stop(timeout), self.nodes.values()))

    def wait(self) -> None:
        """Block until a node exits (``fishshop broker`` runs until Ctrl-C)."""
        while all(node.running for node in self.nodes.values()):
            time.sleep(0.5)

    def kill(self) -> None:
        for node in self.nodes.values():
            node.kill()

    def kill_node(self, node_id: int) -> None:
        """SIGKILL one node's JVM, as a crash of its machine would."""
        self.node(node_id).kill()

    def start_node(self, node_id: int, timeout: float = 120.0, *, wait: bool = True) -> None:
        """Start one node again on its ports and data; wait until it serves
        unless ``wait`` is False (then ``wait_node`` does)."""
        self.node(node_id).launch(self._libs())
        if wait:
            self.wait_node(node_id, timeout)

    def wait_node(self, node_id: int, timeout: float = 120.0) -> None:
        self.node(node_id).wait_ready(timeout)

    def group_coordinator(self, group: str) -> int:
        """The node id that coordinates ``group`` now (not from inside an event loop)."""
        return asyncio.run(find_group_coordinator(self.bootstrap_servers, group))

    def wait_in_sync(self, timeout: float = 60.0) -> None:
        """Wait until every replica of every partition is in sync again (after a
        node came back), so that the next node to die leaves enough copies."""
        deadline = time.monotonic() + timeout
        behind: list[str] = []
        while time.monotonic() < deadline:
            try:
                behind = asyncio.run(out_of_sync_partitions(self.bootstrap_servers))
            except KafkaError as error:  # the cluster may still be settling
                behind = [repr(error)]
            if not behind:
                return
            time.sleep(0.5)
        raise BrokerStartError(
            f"replicas not back in sync after {timeout:.0f}s: {', '.join(behind[:10])}"
        )

    def _libs(self) -> Path:
        try:
            return ensure_jars(progress=self.progress)
        except BrokerFetchError as error:
            raise BrokerStartError(str(error)) from error

    def __enter__(self) -> EmbeddedCluster:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


async def find_group_coordinator(bootstrap_servers: str, group: str, patience: float = 30.0) -> int:
    """The node id of the broker that coordinates consumer group ``group``.

    Right after a node dies the answer may be an error, or the question may go to
    the dead node: asked again until ``patience`` runs out.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        try:
            await admin.start()
            node_id: int = await admin.find_coordinator(group, GROUP)
            return node_id
        except KafkaError:
            if loop.time() > deadline:
                raise
        finally:
            await admin.close()
        await asyncio.sleep(0.5)


async def out_of_sync_partitions(bootstrap_servers: str) -> list[str]:
    """Partitions (internal topics included) whose in-sync replicas are fewer
    than their replicas, or that have no leader, as ``topic-partition``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topics: list[dict[str, Any]] = await admin.describe_topics()
    finally:
        await admin.close()
    behind = []
    for topic in topics:
        for partition in topic["partitions"]:
            if partition["leader"] < 0 or len(partition["isr"]) < len(partition["replicas"]):
                behind.append(f"{topic['topic']}-{partition['partition']}")
    return sorted(behind)
