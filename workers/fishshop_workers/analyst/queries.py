"""The analyst's reads of PostgreSQL: the live panel's and the report's.

Thin I/O over psycopg; what the rows mean is decided in ``panel`` (on screen) and
``report`` (over time). The panel reads asynchronously (the live view's event loop
never blocks on it) on one connection made again after PostgreSQL went away. The
report reads only its window, through the (shop, served_at) index; the shop and the
times go to PostgreSQL as parameters, never into the statement's text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.analyst.panel import AnalystSnapshot, ServedPoint, choose_bucket
from fishshop_workers.analyst.report import ReportRow, Window
from fishshop_workers.analyst.store import CLIENT_ENCODING, AnalystStoreError, connect
from fishshop_workers.shop.menu import MENU

__all__ = ["AnalystReader", "report_rows"]


class AnalystReader:
    """Reads one shop's rows for the analyst panel (``shop`` as the sink labels it)."""

    def __init__(self, url: str, shop: str) -> None:
        self.url = url
        self.shop = shop
        address = DatabaseAddress.from_url(url)
        self.where = address.shown
        self.table = address.table
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(
                self.url, connect_timeout=5, autocommit=True, client_encoding=CLIENT_ENCODING
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
                f"cannot read {self.table} in {self.where}: "
                f"{said[0] if said else type(error).__name__}"
            ) from None

    async def _look(self, columns: int) -> AnalystSnapshot:
        items = sorted(MENU)
        sums = ", ".join(f"coalesce(sum({item}), 0)" for item in items)
        connection = await self._connect()
        now = datetime.now(UTC)
        totals = await (
            await connection.execute(
                f"SELECT count(*), count(cooked_by), min(served_at), {sums} "  # noqa: S608 - names from the code
                f"FROM {self.table} WHERE shop = %s",
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
                f"SELECT served_at, wait_seconds FROM {self.table} "  # noqa: S608 - names from the code
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


_ITEMS = tuple(sorted(MENU))


def _select(table: str, one_shop: bool) -> str:
    """Names from the code and a checked user name only (the table and the menu), so
    formatting them is safe; the values go as parameters."""
    return (
        f"SELECT shop, till, {', '.join(_ITEMS)}, created_at, served_at, cooked_by, wait_seconds "  # noqa: S608
        f"FROM {table} WHERE served_at >= %(start)s AND served_at < %(end)s"
        + (" AND shop = %(shop)s" if one_shop else "")
    )


def report_rows(url: str, window: Window, shop: str | None) -> list[ReportRow]:
    """The rows of one shop (every shop when None) served inside ``window``, from the
    table of the URL's user."""
    table = DatabaseAddress.from_url(url).table
    statement = _select(table, one_shop=shop is not None)
    parameters = {"start": window.start, "end": window.end, "shop": shop}
    with connect(url) as connection:
        try:
            records = connection.execute(statement, parameters).fetchall()
        except psycopg.errors.UndefinedTable:
            raise AnalystStoreError(
                f"PostgreSQL has no table {table}: the analyst keeps it in the schema of the "
                "URL's user, so give --postgres-url with the user the analyst writes with "
                "(or its sink has not written to this database yet: run the analyst, "
                "fishshop demo --scenario analyst)."
            ) from None
        except psycopg.Error as error:
            said = str(error).strip().splitlines()
            raise AnalystStoreError(
                f"PostgreSQL refused to read {table}: "
                f"{said[0] if said else type(error).__name__}. "
                "Check that the URL's user may read the table."
            ) from None
    return [_row(record, table) for record in records]


def _row(record: tuple[object, ...], table: str) -> ReportRow:
    shop, till, *rest = record
    portions = rest[: len(_ITEMS)]
    created, served, cooked, wait = rest[len(_ITEMS) :]
    if not (isinstance(created, datetime) and isinstance(served, datetime)):
        raise AnalystStoreError(
            f"{table} holds its times as {type(served).__name__}, not timestamptz: "
            "it was not made by fishshop; point --postgres-url at the analyst's database."
        )
    return ReportRow(
        shop=str(shop),
        till=int(str(till)),
        portions={item: int(str(count)) for item, count in zip(_ITEMS, portions, strict=True)},
        created_at=created,
        served_at=served,
        cooked_by=None if cooked is None else str(cooked),
        wait_seconds=float(str(wait)),
    )
