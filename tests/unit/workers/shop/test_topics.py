"""Unit tests for fishshop_workers.shop.topics: topic names and partition plans."""

from __future__ import annotations

import pytest

from fishshop_workers.shop.topics import (
    PartitionDecreaseError,
    ShopTopics,
    TopicPlan,
    default_prefix,
    desired_partitions,
    plan_topics,
    prefix_of_namespace,
)

TOPICS = ShopTopics.from_prefix("fishshop.harbour")


def test_from_prefix_names_the_four_topics() -> None:
    topics = ShopTopics.from_prefix("fishshop.harbour")
    assert topics == ShopTopics(
        orders="fishshop.harbour.orders",
        cook="fishshop.harbour.cook",
        served="fishshop.harbour.served",
        dlq="fishshop.harbour.dlq",
    )
    assert len(set(topics)) == 4
    assert ShopTopics.from_prefix("p").orders == "p.orders"


@pytest.mark.parametrize(
    ("shop", "namespace", "expected"),
    [
        ("harbour", None, "fishshop.harbour"),
        ("harbour", "", "fishshop.harbour"),
        ("harbour", "seaside", "fishshop.seaside.harbour"),
        ("two-preparers", "default", "fishshop.default.two-preparers"),
    ],
)
def test_default_prefix(shop: str, namespace: str | None, expected: str) -> None:
    assert default_prefix(shop, namespace) == expected


def test_default_prefix_without_namespace_argument() -> None:
    assert default_prefix("harbour") == "fishshop.harbour"


@pytest.mark.parametrize("partitions", [1, 3, 12])
def test_desired_partitions(partitions: int) -> None:
    assert desired_partitions(TOPICS, partitions) == {
        TOPICS.orders: partitions,
        TOPICS.cook: partitions,
        TOPICS.served: partitions,
        TOPICS.dlq: 1,
    }


@pytest.mark.parametrize("partitions", [0, -2])
def test_desired_partitions_needs_at_least_one(partitions: int) -> None:
    with pytest.raises(ValueError, match=f"at least one partition, not {partitions}"):
        desired_partitions(TOPICS, partitions)


def test_plan_creates_every_missing_topic() -> None:
    plan = plan_topics(desired_partitions(TOPICS, 3), {})
    assert plan == TopicPlan(
        create={TOPICS.orders: 3, TOPICS.cook: 3, TOPICS.served: 3, TOPICS.dlq: 1},
        grow={},
    )
    assert not plan.empty


def test_plan_creates_only_what_is_missing() -> None:
    plan = plan_topics(desired_partitions(TOPICS, 3), {TOPICS.orders: 3, TOPICS.dlq: 1})
    assert plan.create == {TOPICS.cook: 3, TOPICS.served: 3}
    assert plan.grow == {}


def test_plan_grows_topics_with_too_few_partitions() -> None:
    existing = {TOPICS.orders: 3, TOPICS.cook: 3, TOPICS.served: 2, TOPICS.dlq: 1}
    plan = plan_topics(desired_partitions(TOPICS, 6), existing)
    assert plan.create == {}
    assert plan.grow == {TOPICS.orders: 6, TOPICS.cook: 6, TOPICS.served: 6}
    assert not plan.empty


def test_plan_mixes_create_and_grow() -> None:
    plan = plan_topics(desired_partitions(TOPICS, 4), {TOPICS.orders: 2})
    assert plan.create == {TOPICS.cook: 4, TOPICS.served: 4, TOPICS.dlq: 1}
    assert plan.grow == {TOPICS.orders: 4}


def test_plan_is_empty_when_everything_matches() -> None:
    desired = desired_partitions(TOPICS, 3)
    plan = plan_topics(desired, dict(desired))
    assert plan.empty
    assert plan == TopicPlan(create={}, grow={})


def test_topics_that_are_not_the_shops_are_ignored() -> None:
    existing = {**desired_partitions(TOPICS, 3), "someone.else.orders": 50}
    assert plan_topics(desired_partitions(TOPICS, 3), existing).empty


@pytest.mark.parametrize("name", ["orders", "cook", "served"])
def test_plan_refuses_to_decrease_partitions(name: str) -> None:
    topic = getattr(TOPICS, name)
    existing = {**desired_partitions(TOPICS, 3), topic: 5}
    with pytest.raises(PartitionDecreaseError) as caught:
        plan_topics(desired_partitions(TOPICS, 3), existing)
    message = str(caught.value)
    assert message == (
        f"topic {topic} has 5 partitions and Kafka cannot remove partitions: ask for 5 or more"
    )


def test_partition_decrease_error_is_a_value_error() -> None:
    assert issubclass(PartitionDecreaseError, ValueError)


def test_dead_letter_topic_with_more_partitions_is_fine() -> None:
    existing = {**desired_partitions(TOPICS, 3), TOPICS.dlq: 6}
    plan = plan_topics(desired_partitions(TOPICS, 3), existing)
    assert plan.empty


def test_dead_letter_topic_with_more_partitions_while_others_grow() -> None:
    existing = {TOPICS.orders: 1, TOPICS.cook: 1, TOPICS.served: 1, TOPICS.dlq: 4}
    plan = plan_topics(desired_partitions(TOPICS, 2), existing)
    assert plan.grow == {TOPICS.orders: 2, TOPICS.cook: 2, TOPICS.served: 2}
    assert plan.create == {}


def test_consumer_groups_are_named_after_the_prefix() -> None:
    from fishshop_workers.shop.topics import cooks_group, preparers_group

    assert preparers_group("fishshop.ns.harbour") == "fishshop.ns.harbour.preparers"
    assert cooks_group("fishshop.harbour") == "fishshop.harbour.cooks"


def test_prefixes_kafka_takes_for_one_have_one_colliding_form() -> None:
    from fishshop_workers.shop.topics import colliding_form

    assert colliding_form("fishshop.sea.harbour") == colliding_form("fishshop_sea_harbour")
    assert colliding_form("fishshop.sea.harbour") == colliding_form("fishshop_sea.harbour")
    assert colliding_form("fishshop.sea.harbour") != colliding_form("fishshop-sea-harbour")


@pytest.mark.parametrize(
    ("prefix", "namespace", "allowed"),
    [
        ("fishshop.docks.pier", "docks", True),
        ("docks", "docks", True),
        ("docks.shared", "docks", True),
        ("fishshop.seaside.pier", "docks", False),
        ("docks-east.x", "docks", False),
        ("docksx", "docks", False),
        ("docks_shared", "docks", False),
        ("shared", "docks", False),
        ("fishshop.docks.pier", "fishshop", False),
        ("fishshop.fishshop.pier", "fishshop", True),
        ("fishshop", "fishshop", False),
    ],
)
def test_a_prefix_is_tied_to_its_namespace(prefix: str, namespace: str, allowed: bool) -> None:
    assert prefix_of_namespace(prefix, namespace) is allowed
