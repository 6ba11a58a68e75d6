"""The headless demo: the live shop open for a while, then closed and drained, and its books.

Progress goes to stderr every few seconds; the caller prints the summary.
"""

from __future__ import annotations

import asyncio
import sys

from fishshop.demo.boards.cabinet import FromCabinet
from fishshop.demo.boards.shop import crew_text
from fishshop.demo.live_shop import LiveShop, open_shop
from fishshop.demo.servers import DemoServers, say
from fishshop_workers.audit.summary import Summary
from fishshop_workers.shop.spec import ShopSpec

__all__ = ["headless_day"]


async def headless_day(
    spec: ShopSpec,
    servers: DemoServers,
    *,
    duration: float,
    drain_timeout: float = 120.0,
    seed: int | None = None,
    tick_seconds: float = 5.0,
) -> tuple[Summary, FromCabinet | None]:
    """Open the shop for ``duration`` seconds, close it, drain it (up to
    ``drain_timeout`` seconds), and audit it: the summary, with the cabinet's and
    the analyst's books when the shop has them, and what was served from the
    cabinet. A worker's error ends the day and is raised."""
    crew = crew_text(spec, analyst=servers.analyst is not None)
    say(f"shop {spec.name!r} open for {duration:.0f}s: {crew}")
    async with open_shop(spec, servers, seed=seed) as (shop, sink):
        await _open_for(shop, duration, tick_seconds)
        await shop.drain(drain_timeout)
        summary = await shop.stop(strict=True)
        shop.raise_failure()
        if sink is not None:
            say("shop closed; waiting for the analyst's table...")
            summary = await sink.books(summary)
        return summary, shop.from_cabinet


async def _open_for(shop: LiveShop, duration: float, tick_seconds: float) -> None:
    """Keep the shop open ``duration`` seconds, saying how it does every
    ``tick_seconds``; a worker's error is raised at once."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < duration:
        await _watch(shop, min(tick_seconds, duration - (loop.time() - started)))
        summary = await shop.books()
        from_cabinet = shop.from_cabinet
        print(
            f"  {loop.time() - started:5.0f}s  taken {summary.orders_created:5d}  served "
            f"{summary.orders_served:5d}  waiting {summary.unserved:4d}"
            + ("" if from_cabinet is None else f"  from the cabinet {from_cabinet.orders:5d}"),
            file=sys.stderr,
        )


async def _watch(shop: LiveShop, seconds: float) -> None:
    """Wait ``seconds``; if a worker fails meanwhile, raise its error."""
    if seconds <= 0:
        return
    tasks = shop.tasks()
    if not tasks:
        await asyncio.sleep(seconds)
        return
    await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_EXCEPTION)
    shop.raise_failure()
