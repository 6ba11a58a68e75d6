"""``fishshop broker --nodes 3``: the three-node KRaft cluster of the crash tests, by
hand: every node broker and controller, one JVM each, all stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from fishshop_workers.embedded.kafka import free_port
from tests.support.processes import Foreground, wait_gone

pytestmark = [pytest.mark.broker]


async def _brokers(bootstrap: str) -> set[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        return {int(broker["node_id"]) for broker in cluster["brokers"]}
    finally:
        await admin.close()


def _three_in_a_row() -> int:
    """A free port whose two successors are free too."""
    while True:
        port = free_port()
        if port + 2 > 65535:
            continue
        try:
            with socket.socket() as one, socket.socket() as two:
                one.bind(("127.0.0.1", port + 1))
                two.bind(("127.0.0.1", port + 2))
        except OSError:
            continue
        return port


@pytest.mark.slow
def test_three_nodes_make_one_cluster_and_stop_together(tmp_path: Path) -> None:
    port = _three_in_a_row()
    run = Foreground(
        tmp_path / "broker.log",
        "broker", "--nodes", "3", "--port", str(port), "--data-dir", str(tmp_path / "kafka"),
    )  # fmt: skip
    try:
        run.wait_for("fishshop: Kafka cluster of 3 nodes on 127.0.0.1:", 180)
        jvms = run.java_children()
        assert len(jvms) == 3, jvms
        bootstrap = ",".join(f"127.0.0.1:{port + n}" for n in range(3))
        assert bootstrap in run.log()
        assert asyncio.run(_brokers(f"127.0.0.1:{port + 2}")) == {1, 2, 3}
        assert run.terminate(90) == 0, run.log()
        assert all(wait_gone(pid, 15) for pid in jvms)
    finally:
        run.terminate(30)
