"""The analyst panel's reads of PostgreSQL: one shop's totals and its recent rows.

Thin async I/O over psycopg (the live view's event loop never blocks on it); what
the rows mean on screen is decided in ``fishshop_workers.analyst.panel``. One
connection is kept and made again after PostgreSQL went away.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.analyst.panel import AnalystSnapshot, ServedPoint, choose_bucket
from fishshop_workers.analyst.store import AnalystStoreError
from fishshop_workers.analyst.table import TABLE
from fishshop_workers.shop.menu import MENU

__all__ = ["AnalystReader"]


class AnalystReader:
    """Reads one shop's rows for the analyst panel (``shop`` as the sink labels it)."""

    def __init__(self, url: str, shop: str) -> None:
        self.url = url
        self.shop = shop
        self.where = DatabaseAddress.from_url(url).shown
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(
                self.url, connect_timeout=5, autocommit=True
            )
        return self._connection

    async def look(self, columns: int) -> AnalystSnapshot:
        """The shop's rows as the panel needs them, for charts ``columns`` wide."""
        try:
            return await self._look(columns)
        except psycopg.Error as error:
            await self.close()
            said = str(error).strip().splitlines()
            raise AnalystStoreError(
                f"cannot read {TABLE} in {self.where}: {said[0] if said else type(error).__name__}"
            ) from None

    async def _look(self, columns: int) -> AnalystSnapshot:
        items = sorted(MENU)
        sums = ", ".join(f"coalesce(sum({item}), 0)" for item in items)
        connection = await self._connect()
        now = datetime.now(UTC)
        totals = await (
            await connection.execute(
                f"SELECT count(*), count(cooked_by), min(served_at), {sums} "  # noqa: S608 - names from the code
                f"FROM {TABLE} WHERE shop = %s",
                (self.shop,),
            )
        ).fetchone()
        if totals is None or not totals[0]:
            return AnalystSnapshot(now=now)
        rows, cooked, first = int(totals[0]), int(totals[1]), totals[2]  # type: ignore[call-overload]
        first_served = first if isinstance(first, datetime) else None
        seconds = choose_bucket(first_served, now, columns)
        since = now - timedelta(seconds=seconds * (columns + 1))
        recent = await (
            await connection.execute(
                f"SELECT served_at, wait_seconds FROM {TABLE} "  # noqa: S608 - names from the code
                "WHERE shop = %s AND served_at >= %s",
                (self.shop, since),
            )
        ).fetchall()
        points = [
            ServedPoint(served, float(wait))  # type: ignore[arg-type]
            for served, wait in recent
            if isinstance(served, datetime)
        ]
        return AnalystSnapshot(
            now=now,
            rows=rows,
            cooked=cooked,
            first_served=first_served,
            portions={item: int(v) for item, v in zip(items, totals[3:], strict=True)},  # type: ignore[call-overload]
            points=points,
            bucket_seconds=seconds,
        )
