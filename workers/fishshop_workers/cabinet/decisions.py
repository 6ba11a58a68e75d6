"""The hot cabinet's rules, pure: what an order needs, when it is served from the
cabinet, what the cook fries, and the books that must always balance.

Redis applies these rules atomically in Lua (see ``scripts``); the functions here
state them once in Python, so they are documented, unit-tested and used as the
oracle that the Lua is tested against.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, NamedTuple, get_args

from fishshop_workers.errors import InputError

__all__ = [
    "CABINET_ITEMS",
    "ITEMS",
    "MAX_BATCH",
    "CabinetCounts",
    "CabinetItem",
    "CabinetSettings",
    "CabinetSettingsError",
    "Decision",
    "FryResult",
    "Item",
    "ItemCounts",
    "Outcome",
    "Portions",
    "batches_to_fry",
    "check_portions",
    "conservation_gaps",
    "fry_for_order",
    "portions",
    "take_outcome",
]

Item = Literal["cod", "chips", "plaice"]
"""Everything the shop fries; all of it is counted."""
CabinetItem = Literal["cod", "chips"]
"""What is kept hot in the cabinet. Plaice is fried to order and never stocked."""

ITEMS: Final[tuple[Item, ...]] = get_args(Item)
CABINET_ITEMS: Final[tuple[CabinetItem, ...]] = get_args(CabinetItem)
MAX_BATCH: Final = 1000
"""No fryer holds more; a larger number is a typing mistake."""

Portions = Mapping[Item, int]
"""Portions per item, for example ``{"cod": 1, "chips": 3}``; absent items are 0."""


def _item(name: str) -> Item:
    for item in ITEMS:
        if name == item:
            return item
    raise ValueError(f"{name!r} is not on the menu ({', '.join(ITEMS)})")


def portions(parts: Iterable[Sequence[str]]) -> dict[Item, int]:
    """The portions an order's parts need: ``[["cod", "chips"], ["chips", "chips"]]``
    needs one cod and three chips. Items come in menu order; none is 0."""
    counted: dict[Item, int] = {}
    for part in parts:
        for name in part:
            item = _item(name)
            counted[item] = counted.get(item, 0) + 1
    return {item: counted[item] for item in ITEMS if item in counted}


def check_portions(needed: Portions) -> dict[Item, int]:
    """``needed`` as a plain dict in menu order, or ``ValueError`` saying what is wrong.

    An order needs at least one portion, and each count is a whole number above 0.
    """
    checked: dict[Item, int] = {}
    for name, count in needed.items():
        item = _item(name)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"{item}: {count!r} portions; an order needs 1 or more of an item")
        checked[item] = count
    if not checked:
        raise ValueError("an order needs at least one portion")
    return {item: checked[item] for item in ITEMS if item in checked}


class CabinetSettingsError(InputError, ValueError):
    """The cabinet's settings cannot work; the message says what to fix."""


@dataclass(frozen=True)
class CabinetSettings:
    """How the cook keeps the cabinet stocked.

    When fewer than ``<item>_threshold`` portions are left in the cabinet, the cook
    fries one batch of ``<item>_batch`` portions into it. A threshold of 0 means the
    cook never stocks that item (every order needing it goes to the cook).
    """

    cod_batch: int = 10
    chips_batch: int = 20
    cod_threshold: int = 4
    chips_threshold: int = 8

    def __post_init__(self) -> None:
        for item in CABINET_ITEMS:
            batch, threshold = self.batch_size(item), self.threshold(item)
            if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
                raise CabinetSettingsError(
                    f"{item} batch size must be a whole number from 1 to {MAX_BATCH}, not {batch!r}"
                )
            if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
                raise CabinetSettingsError(
                    f"{item} refill threshold must be a whole number, 0 or more, not {threshold!r}"
                )
            if threshold > batch:
                raise CabinetSettingsError(
                    f"{item} refill threshold {threshold} is above its batch size {batch}: "
                    "one batch must bring the cabinet back up to the threshold"
                )

    def batch_size(self, item: CabinetItem) -> int:
        return self.cod_batch if item == "cod" else self.chips_batch

    def threshold(self, item: CabinetItem) -> int:
        return self.cod_threshold if item == "cod" else self.chips_threshold


class Outcome(enum.Enum):
    """What a preparer does with an order after asking the cabinet."""

    SERVE = "serve"
    """Its portions were taken from the cabinet, or were set aside for it: serve it."""
    TO_COOK = "to-cook"
    """The cabinet is short of something (or it needs plaice): send it to the cook."""


@dataclass(frozen=True)
class Decision:
    """The cabinet's answer to a preparer."""

    outcome: Outcome
    portions: Mapping[Item, int] = field(default_factory=dict)
    """What moved to served: taken from the cabinet, or the order's set-aside
    portions. Empty for ``TO_COOK``, and for an order with nothing set aside."""
    replayed: bool = False
    """The record was decided before: this is that decision again, nothing changed."""


@dataclass(frozen=True)
class FryResult:
    """What the cook fried for one order."""

    for_order: Mapping[Item, int]
    """Fried and set aside for the order, until a preparer serves it."""
    batches: Mapping[CabinetItem, int] = field(default_factory=dict)
    """Portions fried into the cabinet, per item that got a batch (one at most)."""
    replayed: bool = False
    """The record was decided before: this is that result again, nothing changed."""


class ItemCounts(NamedTuple):
    """The books of one item since the start of the day."""

    in_cabinet: int = 0
    fried: int = 0
    served: int = 0
    set_aside: int = 0
    """Fried for orders that the cook sent back and no preparer has served yet."""
    batches: int = 0

    @property
    def left(self) -> int:
        """Fried and not served: in the cabinet or set aside."""
        return self.in_cabinet + self.set_aside


@dataclass(frozen=True)
class CabinetCounts:
    """The books of every item, read at one instant."""

    items: Mapping[Item, ItemCounts] = field(
        default_factory=lambda: {item: ItemCounts() for item in ITEMS}
    )

    def __getitem__(self, item: Item) -> ItemCounts:
        return self.items.get(item, ItemCounts())

    def in_cabinet(self) -> dict[Item, int]:
        return {item: self[item].in_cabinet for item in ITEMS}

    def summary(self) -> dict[str, dict[str, int]]:
        """``{"cod": {"fried": N, "served": N, "left": N}, ...}``, as a shop's summary shows it."""
        return {
            item: {"fried": self[item].fried, "served": self[item].served, "left": self[item].left}
            for item in ITEMS
        }


def take_outcome(in_cabinet: Mapping[Item, int], needed: Portions) -> Outcome:
    """Serve from the cabinet only when every portion is there; a partial take
    would hold portions back from other orders for one that waits for the cook anyway."""
    for item, count in check_portions(needed).items():
        if item not in CABINET_ITEMS or in_cabinet.get(item, 0) < count:
            return Outcome.TO_COOK
    return Outcome.SERVE


def fry_for_order(needed: Portions) -> dict[Item, int]:
    """The cook fries everything the order needs, even what the cabinet holds: the
    cabinet's portions are for preparers, and frying for the order is what makes
    sure it is served however fast preparers empty the cabinet."""
    return check_portions(needed)


def batches_to_fry(
    in_cabinet: Mapping[Item, int], settings: CabinetSettings
) -> dict[CabinetItem, int]:
    """One standard batch of each cabinet item below its threshold (portions per item).

    One batch per visit of the cook: a cabinet that is still low gets the next
    batch with the next order, so the cook never stops frying to order for long.
    """
    return {
        item: settings.batch_size(item)
        for item in CABINET_ITEMS
        if in_cabinet.get(item, 0) < settings.threshold(item)
    }


def conservation_gaps(counts: CabinetCounts) -> dict[Item, int]:
    """Per item, fried minus (served + in the cabinet + set aside); only items where
    that is not 0, so an empty answer means the books balance."""
    gaps: dict[Item, int] = {}
    for item in ITEMS:
        books = counts[item]
        gap = books.fried - (books.served + books.in_cabinet + books.set_aside)
        if gap:
            gaps[item] = gap
    return gaps
