"""Kafka clients shared per address: one admin client for every shop of a Kafka, a
consumer lent to one caller at a time, a broken client made anew, and an address
closed when its last shop goes (tests/integration/operator/test_kafka_clients.py
counts queues through them on the real broker)."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from fishshop_operator.kafka.clients import (
    IDLE_PER_ADDRESS,
    LENT_PER_ADDRESS,
    KafkaClients,
    address_of,
)
from fishshop_operator.kafka.topics import ShopKafkaSettings
from fishshop_workers.kafka.settings import KafkaSettings
from tests.support.operator_fakes import FakeKafkaClient, fake_kafka_clients

HERE = KafkaSettings("kafka-a:9092")
THERE = KafkaSettings("kafka-b:9092")


@pytest.fixture
def made() -> dict[str, list[FakeKafkaClient]]:
    return {"admin": [], "consumer": []}


@pytest.fixture
def clients(made: dict[str, list[FakeKafkaClient]]) -> KafkaClients:
    return fake_kafka_clients(made)


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_shops_of_one_kafka_share_one_admin_client(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    async with (
        clients.admin(("a", "one"), HERE) as first,
        clients.admin(("a", "two"), HERE) as second,
    ):
        assert first is second
    async with clients.admin(("b", "three"), THERE) as third:
        assert third is not first
    for _ in range(5):  # cycle after cycle
        async with clients.admin(("a", "one"), HERE) as again:
            assert again is first
    assert len(made["admin"]) == 2
    assert made["admin"][0].options["bootstrap_servers"] == "kafka-a:9092"
    assert all(client.started and not client.stopped for client in made["admin"])


async def test_a_consumer_serves_one_caller_at_a_time_and_is_reused(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    one, two = ("a", "one"), ("a", "two")
    async with clients.consumer(one, HERE) as first, clients.consumer(two, HERE) as second:
        assert first is not second
    assert [c.unsubscribed for c in made["consumer"]] == [1, 1]
    for _ in range(5):
        async with clients.consumer(("a", "one"), HERE) as again:
            assert again in (first, second)
    assert len(made["consumer"]) == 2
    assert made["consumer"][0].options["isolation_level"] == "read_committed"
    assert made["consumer"][0].options["enable_auto_commit"] is False


async def test_many_concurrent_counts_never_share_a_consumer(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    holding: set[int] = set()

    async def count(i: int) -> None:
        async with clients.consumer(("a", f"shop{i}"), HERE) as consumer:
            assert id(consumer) not in holding
            holding.add(id(consumer))
            await asyncio.sleep(0.001 * (i % 3))
            holding.discard(id(consumer))

    await asyncio.gather(*(count(i) for i in range(30)))
    await asyncio.gather(*(count(i) for i in range(30)))
    assert len(made["consumer"]) <= 30


async def test_counts_on_one_kafka_are_bounded_and_the_pool_shrinks(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    """50 autoscaled shops counting at once on one Kafka: at most LENT_PER_ADDRESS
    consumers at a time, and only IDLE_PER_ADDRESS kept once they are done."""
    lent = 0
    most = 0

    async def count(i: int) -> None:
        nonlocal lent, most
        async with clients.consumer(("a", f"shop{i}"), HERE):
            lent += 1
            most = max(most, lent)
            await asyncio.sleep(0.002)
            lent -= 1

    await asyncio.gather(*(count(i) for i in range(50)))
    await _settle()
    assert most == LENT_PER_ADDRESS
    running = [c for c in made["consumer"] if c.started and not c.stopped]
    assert len(running) == IDLE_PER_ADDRESS
    assert made["consumer"][0].options["fetch_max_bytes"] <= 1024 * 1024


@pytest.mark.parametrize("error", [KafkaConnectionError(), OSError("reset"), TimeoutError()])
async def test_a_broken_client_is_closed_and_made_anew(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]], error: Exception
) -> None:
    with pytest.raises(type(error)):
        async with clients.admin(("a", "one"), HERE):
            raise error
    with pytest.raises(type(error)):
        async with clients.consumer(("a", "one"), HERE):
            raise error
    await _settle()
    assert made["admin"][0].stopped and made["consumer"][0].stopped
    async with clients.admin(("a", "one"), HERE) as admin:
        assert admin is made["admin"][1]
    async with clients.consumer(("a", "one"), HERE) as consumer:
        assert consumer is made["consumer"][1]


async def test_a_broken_admin_client_is_closed_only_after_its_other_users(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    async with clients.admin(("a", "one"), HERE) as first:
        with pytest.raises(KafkaConnectionError):
            async with clients.admin(("a", "two"), HERE):
                raise KafkaConnectionError()
        async with clients.admin(("a", "three"), HERE) as fresh:
            assert fresh is not first
        await _settle()
        assert not first.stopped  # "one" is still asking it something
    await _settle()
    assert first.stopped
    assert not made["admin"][1].stopped


async def test_a_refusal_from_kafka_keeps_the_client(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        async with clients.admin(("a", "one"), HERE):
            raise TopicAuthorizationFailedError()
    async with clients.admin(("a", "one"), HERE) as admin:
        assert admin is made["admin"][0]
    assert not made["admin"][0].stopped


async def test_an_address_closes_when_its_last_shop_goes(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    for shop in (("a", "one"), ("a", "two")):
        async with clients.admin(shop, HERE), clients.consumer(shop, HERE):
            pass
    clients.release(("a", "one"))
    await _settle()
    assert not any(c.stopped for c in made["admin"] + made["consumer"])
    clients.release(("a", "two"))
    await _settle()
    assert all(c.stopped for c in made["admin"] + made["consumer"])
    assert clients.addresses() == 0
    assert clients.users() == set()


async def test_a_shop_that_moves_to_another_kafka_lets_the_old_one_go(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    async with clients.admin(("a", "one"), HERE):
        pass
    async with clients.admin(("a", "one"), THERE):
        pass
    await _settle()
    assert [c.stopped for c in made["admin"]] == [True, False]
    assert clients.addresses() == 1


async def test_a_consumer_lent_when_its_address_closed_is_stopped_on_return(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    async with clients.consumer(("a", "one"), HERE):
        clients.release(("a", "one"))
    await _settle()
    assert made["consumer"][0].stopped


async def test_stopping_the_operator_closes_every_client(
    clients: KafkaClients, made: dict[str, list[FakeKafkaClient]]
) -> None:
    for i, settings in enumerate((HERE, THERE)):
        async with (
            clients.admin(("a", str(i)), settings),
            clients.consumer(("a", str(i)), settings),
        ):
            pass
    await clients.close()
    assert all(c.stopped for c in made["admin"] + made["consumer"])
    assert clients.addresses() == 0


def test_an_address_is_servers_and_security() -> None:
    assert address_of(KafkaSettings("k:9092")) == address_of(KafkaSettings("k:9092"))
    assert address_of(KafkaSettings("k:9092")) != address_of(KafkaSettings("k:9093"))
    one, other = ssl.create_default_context(), ssl.create_default_context()
    with_tls = ShopKafkaSettings("k:9092", tls_context=one)
    assert address_of(with_tls) == address_of(ShopKafkaSettings("k:9092", tls_context=one))
    assert address_of(with_tls) != address_of(ShopKafkaSettings("k:9092", tls_context=other))
    assert address_of(with_tls) != address_of(KafkaSettings("k:9092"))
