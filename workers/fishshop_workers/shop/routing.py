"""Pure decisions about where an order goes and who handles it."""

from __future__ import annotations

import enum
import random
import re

from fishshop_workers.shop.menu import needs_cooking
from fishshop_workers.shop.order import Order

__all__ = [
    "Route",
    "draw_seconds",
    "partition_for_till",
    "route_order",
    "till_number_from_hostname",
]


class Route(enum.Enum):
    """What a preparer does with an order from the orders topic."""

    SERVE = "serve"
    """Every item is available (or the cook has made it ready): prepare, serve."""
    COOK = "cook"
    """It holds an item that must be cooked first: hand it to the cook."""


def route_order(order: Order) -> Route:
    if order.ready or not needs_cooking(order.parts):
        return Route.SERVE
    return Route.COOK


def partition_for_till(till: int, partitions: int) -> int:
    """Till N writes partition (N-1) mod P, so each till's orders stay in order."""
    if till < 1:
        raise ValueError(f"till numbers start at 1, not {till}")
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not {partitions}")
    return (till - 1) % partitions


_ORDINAL = re.compile(r"-(\d+)$")


def till_number_from_hostname(hostname: str) -> int | None:
    """A StatefulSet pod ``harbour-till-0`` is till 1: ordinal plus one."""
    match = _ORDINAL.search(hostname)
    return int(match.group(1)) + 1 if match else None


def draw_seconds(rng: random.Random, low: float, high: float) -> float:
    """A simulated preparing or cooking time within [low, high]."""
    if low > high:
        raise ValueError(f"minimum {low} is above maximum {high}")
    return low if low == high else rng.uniform(low, high)
