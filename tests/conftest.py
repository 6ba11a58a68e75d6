"""Shared fixtures: the real Kafka broker, started once per test session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fishshop_workers.broker.server import EmbeddedBroker
from fishshop_workers.kafka_settings import KafkaSettings


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
