"""The operator's Kafka calls against the real broker: what waits for the preparers
and for the cooks is counted from the topics, and a refused deletion is never taken
for a deletion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from fishshop_operator.kafka.topics import (
    TopicDeletionError,
    delete_shop_topics,
    queue_state,
    reconcile_topics,
    shop_settings,
)
from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.kafka.settings import KafkaSettings
from tests.support.operator_bodies import shop_resource

pytestmark = pytest.mark.broker


async def _produce(kafka: KafkaSettings, topic: str, partition: int, count: int) -> None:
    producer = AIOKafkaProducer(**kafka.client_options())
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, b"{}", key=f"{n}".encode(), partition=partition)
    finally:
        await producer.stop()


async def _commit(kafka: KafkaSettings, group: str, tp: TopicPartition, offset: int) -> None:
    """Commit for ``group`` as a worker of it would, without joining it."""
    consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


async def test_orders_waiting_for_preparers_and_for_cooks_are_counted(
    kafka: KafkaSettings, shop_name: str
) -> None:
    shop = shop_resource(shop_name, "fs-kafka", kafka={"bootstrapServers": kafka.bootstrap_servers})
    settings = shop_settings(shop, None)
    assert (await reconcile_topics(settings, shop)).ready
    state = await queue_state(settings, shop)
    assert (state.partitions, state.queued_orders, state.queued_for_cook) == (3, 0, 0)

    await _produce(kafka, shop.topics.orders, 0, 4)
    await _produce(kafka, shop.topics.cook, 1, 3)
    await _produce(kafka, shop.topics.cook, 2, 2)
    state = await queue_state(settings, shop)
    # No cook ever came: everything in the cook topic waits for one.
    assert (state.queued_orders, state.queued_for_cook) == (4, 5)

    # The cooks' group has taken two from partition 1; the preparers' group one.
    await _commit(kafka, shop.cooks_group, TopicPartition(shop.topics.cook, 1), 2)
    await _commit(kafka, shop.preparers_group, TopicPartition(shop.topics.orders, 0), 1)
    state = await queue_state(settings, shop)
    assert (state.queued_orders, state.queued_for_cook) == (3, 3)
    assert await delete_shop_topics(settings, shop) == list(shop.topics)


@pytest.fixture
def broker_that_keeps_topics(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    server = EmbeddedBroker(tmp_path / "kafka", extra_properties={"delete.topic.enable": "false"})
    server.start()
    yield server
    server.kill()


@pytest.mark.slow
async def test_a_refused_deletion_is_an_error_not_a_success(
    broker_that_keeps_topics: EmbeddedBroker, shop_name: str
) -> None:
    bootstrap = broker_that_keeps_topics.bootstrap_servers
    shop = shop_resource(shop_name, "fs-kafka", kafka={"bootstrapServers": bootstrap})
    settings = shop_settings(shop, None)
    assert (await reconcile_topics(settings, shop)).ready
    with pytest.raises(TopicDeletionError, match="TopicDeletionDisabled") as refused:
        await delete_shop_topics(settings, shop)
    assert shop.topics.orders in str(refused.value)
