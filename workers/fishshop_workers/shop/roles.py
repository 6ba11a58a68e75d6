"""Who works in a shop: the three roles, named once."""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "CABINET_ROLES",
    "COOK",
    "KITCHEN_ROLES",
    "PREPARER",
    "ROLES",
    "TILL",
    "KitchenRole",
    "Role",
]

Role = Literal["till", "preparer", "cook"]
"""A worker's role: its command (``fishshop till``), its workload and its metrics."""

KitchenRole = Literal["preparer", "cook"]
"""The roles that consume a topic in a consumer group (and may use the hot cabinet)."""

TILL: Final = "till"
PREPARER: Final = "preparer"
COOK: Final = "cook"

ROLES: Final[tuple[Role, ...]] = (TILL, PREPARER, COOK)
"""Every role, in the order a shop opens: tills, preparers, cooks."""

KITCHEN_ROLES: Final[tuple[KitchenRole, ...]] = (PREPARER, COOK)
CABINET_ROLES: Final[tuple[KitchenRole, ...]] = KITCHEN_ROLES
"""The roles whose pods reach the hot cabinet's Redis."""
