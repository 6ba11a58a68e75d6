"""The menu and how customers choose from it, as in the talk's demo."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Final

__all__ = [
    "COOKED_ITEMS",
    "MENU",
    "Part",
    "count_portions",
    "describe_parts",
    "draw_parts",
    "needs_cooking",
]

MENU: Final = frozenset({"cod", "chips", "plaice"})
COOKED_ITEMS: Final = frozenset({"plaice"})
"""Items that the cook must cook before a preparer can serve them."""

Part = tuple[str, ...]
"""One portion of an order: for example ``("cod", "chips")``."""

_MENU_ORDER: Final = tuple(sorted(MENU))


def count_portions(parts: Iterable[Part]) -> dict[str, int]:
    """How many portions of each item on the menu an order holds, zeros included:
    the served receipt's ``portions``."""
    counts = dict.fromkeys(_MENU_ORDER, 0)
    for part in parts:
        for item in part:
            counts[item] += 1
    return counts


COD_AND_CHIPS: Final[Part] = ("cod", "chips")
LARGE_CHIPS: Final[Part] = ("chips", "chips")
CHIPS: Final[Part] = ("chips",)
PLAICE_AND_CHIPS: Final[Part] = ("plaice", "chips")


def draw_parts(rng: random.Random, plaice: bool) -> list[Part]:
    """What the next customer orders.

    Mostly cod and chips, sometimes with large chips, sometimes chips alone, and,
    when plaice is on the menu, sometimes plaice and chips.
    """
    parts: list[Part] = []
    roll = rng.random()
    if roll < 0.5:
        parts.append(COD_AND_CHIPS)
    elif roll < 0.75:
        parts.extend([COD_AND_CHIPS, LARGE_CHIPS])
    else:
        parts.append(CHIPS)
    if plaice and rng.random() < 0.3:
        parts.append(PLAICE_AND_CHIPS)
    return parts


def needs_cooking(parts: Iterable[Part]) -> bool:
    return any(not COOKED_ITEMS.isdisjoint(part) for part in parts)


def describe_parts(parts: list[Part]) -> str:
    """``cod and chips, plaice and chips``: how the counter calls an order."""
    return ", ".join(" and ".join(part) for part in parts)
