"""The demo shop's day with a hot cabinet: opened, emptied in the morning, its books read.

Redis keeps one day, Kafka every day: the two are compared only on fresh topics
(docs/design/cli.md says why).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator

from fishshop_workers.audit.auditor import Auditor
from fishshop_workers.audit.ledger import Ledger, with_cabinet
from fishshop_workers.audit.summary import Summary
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import conservation_gaps
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.shop.spec import ShopSpec
from fishshop_workers.shop.topics import topic_prefix

__all__ = ["cabinet_books", "open_cabinet", "start_of_day"]

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def open_cabinet(
    spec: ShopSpec, connection: CabinetConnection | None
) -> AsyncIterator[HotCabinet | None]:
    """The shop's hot cabinet on ``connection``, or None for a shop without one.

    Redis must answer before anyone is hired, so a wrong address or password is one
    clear error at the start rather than workers that wait for it.
    """
    if spec.hot_cabinet is None:
        yield None
        return
    if connection is None:
        raise ValueError(f"shop {spec.name!r} has a hot cabinet: say which Redis holds it")
    prefix = topic_prefix(spec.name, chosen=spec.topic_prefix)
    async with HotCabinet.connect(connection, prefix) as cabinet:
        await cabinet.ping()
        yield cabinet


async def start_of_day(cabinet: HotCabinet | None, auditor: Auditor) -> bool:
    """Empty the cabinet, as every day starts, before anyone is hired.

    Returns True when the shop's topics already hold orders of earlier days (a
    broker of one's own, a shop run before): then Redis's books and Kafka's cover
    different days and are not compared. ``auditor`` must be started.
    """
    if cabinet is None:
        return False
    await cabinet.reset()
    earlier = (await auditor.catch_up()).orders_created
    if earlier:
        log.warning(
            "the shop's topics hold %d orders of earlier days; the cabinet starts empty "
            "today, so its books are checked on their own, not against Kafka's",
            earlier,
        )
    return earlier > 0


async def cabinet_books(
    summary: Summary, cabinet: HotCabinet | None, ledger: Ledger, compare: bool = True
) -> Summary:
    """``summary`` with the cabinet's books as they are now, when there is a cabinet;
    ``compare`` False leaves out the comparison with what Kafka served."""
    if cabinet is None:
        return summary
    counts = await cabinet.counts()
    gaps = {str(item): gap for item, gap in conservation_gaps(counts).items()}
    books = with_cabinet(summary, counts.summary(), gaps, ledger)
    return books if compare else dataclasses.replace(books, cabinet_kafka_gaps={})
