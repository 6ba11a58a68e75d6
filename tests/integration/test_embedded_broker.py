"""The embedded broker formats its storage whatever cluster id it draws."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from fishshop_workers.broker import server
from fishshop_workers.broker.server import EmbeddedBroker


def test_a_cluster_id_that_begins_with_a_dash_still_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One id in 64 begins with "-"; Kafka's storage tool once read it as an option."""
    dashed = base64.urlsafe_b64encode(b"\xf8" + os.urandom(15)).decode().rstrip("=")
    assert dashed.startswith("-")
    monkeypatch.setattr(server, "_kafka_uuid", lambda: dashed)
    broker = EmbeddedBroker(tmp_path / "kafka")
    broker.start()
    try:
        meta = (tmp_path / "kafka" / "logs" / "meta.properties").read_text()
        assert f"cluster.id={dashed}" in meta
    finally:
        broker.stop()
