"""Check the analyst's table against the served topic, giving the sink time to
catch up: the table trails Kafka by a few seconds while the shop is busy."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from fishshop_workers.analyst.comparison import TableComparison, compare_table
from fishshop_workers.analyst.store import served_rows
from fishshop_workers.shop.order import Order

__all__ = ["check_table"]


async def check_table(
    served: Mapping[str, Order], url: str, shop: str, wait: float = 0.0, poll: float = 1.0
) -> TableComparison:
    """Compare until the table agrees with ``served`` or ``wait`` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        rows = await asyncio.to_thread(served_rows, url, shop)
        books = compare_table(served, rows)
        if books.clean or loop.time() >= deadline:
            return books
        await asyncio.sleep(min(poll, max(0.0, deadline - loop.time())))
