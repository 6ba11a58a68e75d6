"""Kafka clients shared by shops on the real broker: shops of one Kafka count their
queues side by side through one admin client and a few lent consumers, each count
right for its own shop, cycle after cycle; the clients close when the shops go, and
clients broken by a broker restart are made anew."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from fishshop_operator.kafka import topics as shop_kafka
from fishshop_operator.kafka.clients import KafkaClients
from fishshop_operator.kafka.topics import (
    KafkaUnreachable,
    delete_shop_topics,
    queue_state,
    reconcile_topics,
)
from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.kafka.settings import KafkaSettings
from tests.integration.operator.test_kafka import _commit, _produce
from tests.support.operator_bodies import shop_resource

pytestmark = pytest.mark.broker


def _counted_clients(made: dict[str, list[Any]]) -> KafkaClients:
    """Real clients, each listed in ``made`` as it is made."""

    def admin(**options: Any) -> AIOKafkaAdminClient:
        made["admin"].append(client := AIOKafkaAdminClient(**options))
        return client

    def consumer(**options: Any) -> AIOKafkaConsumer:
        made["consumer"].append(client := AIOKafkaConsumer(**options))
        return client

    return KafkaClients(admin_factory=admin, consumer_factory=consumer)


async def test_shops_of_one_kafka_count_their_queues_on_shared_clients(
    kafka: KafkaSettings, shop_name: str
) -> None:
    made: dict[str, list[Any]] = {"admin": [], "consumer": []}
    clients = _counted_clients(made)
    where = {"bootstrapServers": kafka.bootstrap_servers}
    shops = [shop_resource(f"{shop_name}{i}", "fs-pool", kafka=where) for i in range(4)]
    settings = KafkaSettings(kafka.bootstrap_servers)
    try:
        for shop in shops:
            assert (await reconcile_topics(settings, shop, clients=clients)).ready
        for i, shop in enumerate(shops):
            await _produce(kafka, shop.topics.orders, i % 3, i + 1)
            await _produce(kafka, shop.topics.cook, 0, 2 * i)

        async def counts() -> list[tuple[int, int]]:
            states = await asyncio.gather(
                *(queue_state(settings, shop, clients=clients) for shop in shops)
            )
            return [(state.queued_orders, state.queued_for_cook) for state in states]

        assert await counts() == [(1, 0), (2, 2), (3, 4), (4, 6)]
        # The preparers of shop 3 take two; the next cycle, on the same clients, sees it.
        three = shops[3]
        await _commit(kafka, three.preparers_group, TopicPartition(three.topics.orders, 0), 2)
        assert await counts() == [(1, 0), (2, 2), (3, 4), (2, 6)]
        for shop in shops:  # the topics exist: seen on the shared admin client
            assert (await reconcile_topics(settings, shop, clients=clients)).ready
        assert len(made["admin"]) == 1
        assert 1 <= len(made["consumer"]) <= len(shops)

        for shop in shops:
            clients.release((shop.namespace, shop.name))
        await asyncio.sleep(0.5)
        assert clients.addresses() == 0
        assert all(client._closed for client in made["consumer"])
    finally:
        await clients.close()
        for shop in shops:
            await delete_shop_topics(settings, shop)


@pytest.mark.slow
async def test_clients_broken_by_a_broker_restart_are_made_anew(
    own_broker: EmbeddedBroker, shop_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shop_kafka, "TIMEOUT", 5.0)
    settings = KafkaSettings(own_broker.bootstrap_servers)
    where = {"bootstrapServers": own_broker.bootstrap_servers}
    shop = shop_resource(shop_name, "fs-pool", kafka=where)
    made: dict[str, list[Any]] = {"admin": [], "consumer": []}
    clients = _counted_clients(made)
    try:
        assert (await reconcile_topics(settings, shop, clients=clients)).ready
        await _produce(settings, shop.topics.orders, 0, 2)
        assert (await queue_state(settings, shop, clients=clients)).queued_orders == 2

        first_admin = made["admin"][0]
        await asyncio.to_thread(own_broker.stop)
        with pytest.raises(KafkaUnreachable):
            await queue_state(settings, shop, clients=clients)
        await asyncio.to_thread(own_broker.start)

        # The clients that saw the broker go are replaced; counting works again.
        async def counted() -> int | None:
            try:
                return (await queue_state(settings, shop, clients=clients)).queued_orders
            except KafkaUnreachable:
                return None

        for _ in range(20):
            if (found := await counted()) is not None:
                break
            await asyncio.sleep(1)
        assert found == 2
        assert made["admin"][-1] is not first_admin
        await asyncio.sleep(0.5)
        assert first_admin._closed
    finally:
        await clients.close()
