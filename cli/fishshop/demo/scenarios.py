"""The talk's demos, as shops: each one teaches one idea."""

from __future__ import annotations

from typing import Any

from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.errors import InputError
from fishshop_workers.shop.spec import CookSpec, PreparerSpec, ShopSpec, TillSpec

__all__ = ["ANALYST_SCENARIOS", "SCENARIOS", "scenario"]


def _shop(
    name: str, *, partitions: int = 3, tills: int = 3, preparers: int, cooks: int, **more: Any
) -> ShopSpec:
    """A scenario's shop: tills at the talk's 40 orders a minute, default timings."""
    return ShopSpec(
        name=name,
        partitions=partitions,
        tills=TillSpec(replicas=tills, orders_per_minute=40),
        preparers=PreparerSpec(replicas=preparers),
        cooks=CookSpec(replicas=cooks),
        **more,
    )


SCENARIOS: dict[str, tuple[str, ShopSpec]] = {
    "one-till": (
        "One till, one preparer: a producer, a topic and a consumer.",
        _shop("one-till", partitions=1, tills=1, preparers=1, cooks=0),
    ),
    "three-tills": (
        "Three tills outrun one preparer: partitions, and lag that grows.",
        _shop("three-tills", preparers=1, cooks=0),
    ),
    "two-preparers": (
        "Two preparers in one consumer group share the partitions and keep up.",
        _shop("two-preparers", preparers=2, cooks=0),
    ),
    "cook": (
        "Plaice goes to the cook and comes back ready: a second topic, a loop.",
        _shop("cook", preparers=2, cooks=1),
    ),
    "hot-cabinet": (
        "Preparers serve cod and chips from a hot cabinet in Redis; the cook fries to "
        "order and in batches: a second store kept exactly once with Kafka.",
        _shop("hot-cabinet", preparers=2, cooks=1, hot_cabinet=CabinetSettings()),
    ),
    "analyst": (
        "Served orders flow through a Kafka Connect JDBC sink into PostgreSQL, where an "
        "analyst charts orders per minute, the customers' wait and the best sellers.",
        _shop("analyst", preparers=2, cooks=1),
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
