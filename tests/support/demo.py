"""Demo shops for the tests of the live shop, its view and the headless demo."""

from __future__ import annotations

from fishshop_workers.shop.spec import CookSpec, PreparerSpec, ShopSpec, TillSpec


def quick_shop(name: str, partitions: int = 2, tills: int = 1, cooks: int = 0) -> ShopSpec:
    """A shop that takes and serves orders every fraction of a second."""
    return ShopSpec(
        name=name,
        partitions=partitions,
        tills=TillSpec(replicas=tills, orders_per_minute=240),
        preparers=PreparerSpec(replicas=1, prep_min=0.02, prep_max=0.05),
        cooks=CookSpec(replicas=cooks, cook_min=0.1, cook_max=0.2),
    )
