"""The embedded broker: it formats its storage whatever cluster id it draws, and it
dies with whoever started it, so a crashed ``fishshop broker`` or ``fishshop demo``
leaves no JVM behind holding the port and the data folder."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from fishshop_workers.embedded import kafka as server
from fishshop_workers.embedded.kafka import EmbeddedBroker, free_port
from tests.support.processes import Foreground, port_open, wait_gone, wait_port_closed

pytestmark = [pytest.mark.broker]

BROKER_READY = "fishshop: Kafka broker on"


def test_a_cluster_id_that_begins_with_a_dash_still_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One id in 64 begins with "-"; Kafka's storage tool once read it as an option."""
    dashed = base64.urlsafe_b64encode(b"\xf8" + os.urandom(15)).decode().rstrip("=")
    assert dashed.startswith("-")
    monkeypatch.setattr(server, "kafka_uuid", lambda: dashed)
    broker = EmbeddedBroker(tmp_path / "kafka")
    broker.start()
    try:
        meta = (tmp_path / "kafka" / "logs" / "meta.properties").read_text()
        assert f"cluster.id={dashed}" in meta
    finally:
        broker.stop()


@pytest.mark.slow
def test_a_killed_fishshop_broker_takes_its_jvm_along_and_starts_again_on_its_data(
    tmp_path: Path,
) -> None:
    port = free_port()
    data = tmp_path / "kafka"
    command = ("broker", "--port", str(port), "--data-dir", str(data))
    first = Foreground(tmp_path / "first.log", *command)
    second = None
    try:
        first.wait_for(BROKER_READY, 120)
        jvms = first.java_children()
        assert len(jvms) == 1, jvms
        first.kill()
        assert wait_gone(jvms[0], 10), "the broker's JVM outlived fishshop broker"
        assert wait_port_closed(port, 5)

        second = Foreground(tmp_path / "second.log", *command)
        second.wait_for(BROKER_READY, 120)
        assert port_open(port)
        again = second.java_children()
        assert second.terminate(60) == 0, second.log()
        assert all(wait_gone(pid, 10) for pid in again)
    finally:
        for command_run in (first, second):
            if command_run is not None:
                command_run.terminate(30)


@pytest.mark.slow
def test_a_killed_demo_takes_its_broker_along(tmp_path: Path) -> None:
    demo = Foreground(
        tmp_path / "demo.log", "demo", "--headless", "--duration", "300", "--seed", "1"
    )
    try:
        demo.wait_for("fishshop: broker ready on 127.0.0.1:", 120)
        port = int(demo.log().split("broker ready on 127.0.0.1:")[1].split()[0])
        jvms = demo.java_children()
        assert len(jvms) == 1, jvms
        demo.kill()
        assert wait_gone(jvms[0], 10), "the broker's JVM outlived fishshop demo"
        assert wait_port_closed(port, 5)
    finally:
        demo.terminate(30)
