"""The talk's demos, as shops: each one teaches one idea."""

from __future__ import annotations

from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.errors import InputError
from fishshop_workers.shop.spec import CookSpec, PreparerSpec, ShopSpec, TillSpec

__all__ = ["ANALYST_SCENARIOS", "SCENARIOS", "scenario"]

SCENARIOS: dict[str, tuple[str, ShopSpec]] = {
    "one-till": (
        "One till, one preparer: a producer, a topic and a consumer.",
        ShopSpec(
            name="one-till",
            partitions=1,
            tills=TillSpec(replicas=1, orders_per_minute=40),
            preparers=PreparerSpec(replicas=1),
            cooks=CookSpec(replicas=0),
        ),
    ),
    "three-tills": (
        "Three tills outrun one preparer: partitions, and lag that grows.",
        ShopSpec(
            name="three-tills",
            partitions=3,
            tills=TillSpec(replicas=3, orders_per_minute=40),
            preparers=PreparerSpec(replicas=1),
            cooks=CookSpec(replicas=0),
        ),
    ),
    "two-preparers": (
        "Two preparers in one consumer group share the partitions and keep up.",
        ShopSpec(
            name="two-preparers",
            partitions=3,
            tills=TillSpec(replicas=3, orders_per_minute=40),
            preparers=PreparerSpec(replicas=2),
            cooks=CookSpec(replicas=0),
        ),
    ),
    "cook": (
        "Plaice goes to the cook and comes back ready: a second topic, a loop.",
        ShopSpec(
            name="cook",
            partitions=3,
            tills=TillSpec(replicas=3, orders_per_minute=40),
            preparers=PreparerSpec(replicas=2),
            cooks=CookSpec(replicas=1),
        ),
    ),
    "hot-cabinet": (
        "Preparers serve cod and chips from a hot cabinet in Redis; the cook fries to "
        "order and in batches: a second store kept exactly once with Kafka.",
        ShopSpec(
            name="hot-cabinet",
            partitions=3,
            tills=TillSpec(replicas=3, orders_per_minute=40),
            preparers=PreparerSpec(replicas=2),
            cooks=CookSpec(replicas=1),
            hot_cabinet=CabinetSettings(),
        ),
    ),
    "analyst": (
        "Served orders flow through a Kafka Connect JDBC sink into PostgreSQL, where an "
        "analyst charts orders per minute, the customers' wait and the best sellers.",
        ShopSpec(
            name="analyst",
            partitions=3,
            tills=TillSpec(replicas=3, orders_per_minute=40),
            preparers=PreparerSpec(replicas=2),
            cooks=CookSpec(replicas=1),
        ),
    ),
}

ANALYST_SCENARIOS = frozenset({"analyst"})
"""Scenarios whose served orders also go to the analyst's PostgreSQL."""


class UnknownScenario(InputError, KeyError):
    """No scenario of that name."""


def scenario(name: str) -> ShopSpec:
    try:
        return SCENARIOS[name][1]
    except KeyError:
        raise UnknownScenario(
            f"no scenario {name!r}: choose one of {', '.join(SCENARIOS)}"
        ) from None
