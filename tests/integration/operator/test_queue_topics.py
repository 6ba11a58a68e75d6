"""The queue count asks Kafka about the shop's own topics only, and never makes one,
even on a broker that makes topics it is asked about (auto.create.topics.enable, on by
default in Kafka): a topic deleted by hand (or not made yet) counts as no partitions
and stays absent, for the reconciler to make with the shop's partitions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from fishshop_operator.kafka.topics import queue_state, shop_settings
from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.kafka.settings import KafkaSettings
from tests.support.operator_bodies import shop_resource

pytestmark = pytest.mark.broker


@pytest.fixture
def creating_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker with Kafka's default of making any topic a client asks about."""
    server = EmbeddedBroker(
        tmp_path / "kafka", extra_properties={"auto.create.topics.enable": "true"}
    )
    server.start()
    yield server
    server.kill()


async def test_a_missing_topic_counts_as_none_and_is_not_made(
    creating_broker: EmbeddedBroker, shop_name: str
) -> None:
    kafka = KafkaSettings(creating_broker.bootstrap_servers)
    shop = shop_resource(shop_name, "fs-count", kafka={"bootstrapServers": kafka.bootstrap_servers})
    state = await queue_state(shop_settings(shop, None), shop)
    assert (state.partitions, state.queued_orders, state.queued_for_cook) == (0, 0, 0)
    await asyncio.sleep(1.0)  # a topic made on request appears within this
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        made = set(await admin.list_topics()) & set(shop.topics)
    finally:
        await admin.close()
    assert made == set()
