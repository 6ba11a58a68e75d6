"""Fixtures of the operator's unit tests."""

from __future__ import annotations

import pytest

from tests.support.operator_fakes import FakeKafka


@pytest.fixture
def kafka(monkeypatch: pytest.MonkeyPatch) -> FakeKafka:
    """Stands in for the operator's Kafka calls (here, not the session's broker)."""
    return FakeKafka().stand_in(monkeypatch)
