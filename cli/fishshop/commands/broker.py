"""``fishshop broker``: the embedded Kafka in the foreground, one node or a KRaft
cluster of several (the crash tests' cluster, by hand)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from fishshop.errors import UsageError
from fishshop.options import PORT, Subparsers, option, whole

__all__ = ["MAX_NODES", "register", "run"]

MAX_NODES = 5
"""Each node is a JVM of its own (384 MiB of heap in a cluster)."""


def register(commands: Subparsers) -> None:
    parser = commands.add_parser("broker", help="run the embedded Kafka broker")
    option(
        parser,
        "--port",
        command="broker",
        type=PORT,
        default=9092,
        help="port on 127.0.0.1 (with --nodes: the first node's; the others follow)",
    )
    option(
        parser,
        "--data-dir",
        command="broker",
        type=Path,
        help="broker storage (default: a fresh temporary folder)",
    )
    option(
        parser,
        "--nodes",
        type=whole(1, MAX_NODES),
        default=1,
        help=f"Kafka nodes, each broker and controller (1 to {MAX_NODES}; 3 for a cluster "
        "that survives a node's loss)",
    )


def run(args: argparse.Namespace) -> int:
    from fishshop_workers.embedded.kafka import EmbeddedBroker
    from fishshop_workers.embedded.kafka_cluster import EmbeddedCluster

    nodes = int(args.nodes)
    if not 1 <= nodes <= MAX_NODES:
        raise UsageError(f"--nodes must be from 1 to {MAX_NODES}, not {nodes}")
    port = int(args.port)
    if not 1 <= port <= 65535 - (nodes - 1):
        raise UsageError(f"--port must leave room for {nodes} ports up to 65535, not {port}")
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="fishshop-broker-"))
    kafka: EmbeddedBroker | EmbeddedCluster
    if nodes == 1:
        kafka = EmbeddedBroker(data_dir, port=port)
        what = "Kafka broker"
    else:
        kafka = EmbeddedCluster(data_dir, nodes, ports=[port + n for n in range(nodes)])
        what = f"Kafka cluster of {nodes} nodes"
    try:
        kafka.start()
        print(
            f"fishshop: {what} on {kafka.bootstrap_servers}, data in {data_dir}; Ctrl-C stops it",
            file=sys.stderr,
        )
        kafka.wait()
    except KeyboardInterrupt:
        pass
    finally:
        kafka.stop()
    return 0
