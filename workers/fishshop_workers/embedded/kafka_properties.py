"""server.properties for an embedded KRaft node: one alone, or one of a cluster.

Pure: builds text, starts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

__all__ = ["QuorumSeat", "broker_properties", "min_insync_replicas"]


class QuorumSeat(NamedTuple):
    """Where one node sits in a multi-node cluster on loopback."""

    node_id: int
    """This node's ``node.id`` (1, 2, 3, ...)."""
    voters: Mapping[int, int]
    """Every controller of the cluster: node id to its controller port."""
    cluster_id: str
    """The one cluster id every node's storage is formatted with."""

    @property
    def replication(self) -> int:
        """Internal topics and new topics keep a copy on every node."""
        return len(self.voters)

    @property
    def controller_port(self) -> int:
        return self.voters[self.node_id]


def min_insync_replicas(replication: int) -> int:
    """Copies a write needs before it counts: all but one, so one node may die."""
    return max(1, replication - 1)


def broker_properties(
    port: int,
    controller_port: int,
    log_dir: Path,
    extra_listeners: Mapping[str, tuple[str, int]] | None = None,
    extra_properties: Mapping[str, str] | None = None,
    *,
    seat: QuorumSeat | None = None,
) -> str:
    """server.properties for one node acting as broker and controller.

    Without ``seat`` the node is a cluster of its own; with it, one of
    ``seat.voters``. ``extra_listeners`` adds listeners by name:
    ``{"SSL": ("SSL", 9093)}``; their settings (certificates, SASL) come in
    ``extra_properties``, which win over everything here.
    """
    extra = dict(extra_listeners or {})
    listeners = [f"PLAINTEXT://127.0.0.1:{port}"] + [
        f"{name}://127.0.0.1:{extra_port}" for name, (_, extra_port) in extra.items()
    ]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"] + [
        f"{name}:{protocol}" for name, (protocol, _) in extra.items()
    ]
    node_id = seat.node_id if seat else 1
    voters = dict(seat.voters) if seat else {1: controller_port}
    replicas = str(seat.replication if seat else 1)
    min_isr = str(min_insync_replicas(int(replicas)))
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": ",".join(
            f"{voter}@127.0.0.1:{voter_port}" for voter, voter_port in sorted(voters.items())
        ),
        "listeners": ",".join([*listeners, f"CONTROLLER://127.0.0.1:{controller_port}"]),
        "advertised.listeners": ",".join(listeners),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": ",".join(protocols),
        "log.dirs": str(log_dir),
        "num.partitions": "1",
        "default.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": replicas,
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": "5",
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        # The cleaner's buffer defaults to 128 MiB: too much for a 512 MiB heap.
        "log.cleaner.dedupe.buffer.size": str(4 * 1024 * 1024),
        # A crashed transactional worker's open transaction is aborted this soon.
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
        "transaction.max.timeout.ms": "900000",
        **(extra_properties or {}),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())
