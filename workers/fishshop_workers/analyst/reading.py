"""The report's rows read from PostgreSQL: thin I/O, the figures are decided in
``report.py``.

Only the report's window is read, through the (shop, served_at) index; the shop
and the times go to PostgreSQL as parameters, never into the statement's text.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from fishshop_workers.analyst.report import ReportRow, Window
from fishshop_workers.analyst.store import AnalystStoreError, connect
from fishshop_workers.analyst.table import TABLE
from fishshop_workers.shop.menu import MENU

__all__ = ["report_rows"]

_ITEMS = tuple(sorted(MENU))
# Names from the code only (the table and the menu), so formatting them is safe.
_SELECT = (
    f"SELECT shop, till, {', '.join(_ITEMS)}, created_at, served_at, cooked_by, wait_seconds "  # noqa: S608
    f"FROM {TABLE} WHERE served_at >= %(start)s AND served_at < %(end)s"
)
_ONE_SHOP = _SELECT + " AND shop = %(shop)s"


def report_rows(url: str, window: Window, shop: str | None) -> list[ReportRow]:
    """The rows of one shop (every shop when None) served inside ``window``."""
    statement = _ONE_SHOP if shop is not None else _SELECT
    parameters = {"start": window.start, "end": window.end, "shop": shop}
    with connect(url) as connection:
        try:
            records = connection.execute(statement, parameters).fetchall()
        except psycopg.errors.UndefinedTable:
            raise AnalystStoreError(
                f"PostgreSQL has no table {TABLE}: the analyst's sink has not written "
                "to this database yet. Run the analyst (fishshop demo --scenario analyst) "
                "or check that --postgres-url names the analyst's database."
            ) from None
        except psycopg.Error as error:
            said = str(error).strip().splitlines()
            raise AnalystStoreError(
                f"PostgreSQL refused to read {TABLE}: {said[0] if said else type(error).__name__}. "
                "Check that the URL's user may read the table."
            ) from None
    return [_row(record) for record in records]


def _row(record: tuple[object, ...]) -> ReportRow:
    shop, till, *rest = record
    portions = rest[: len(_ITEMS)]
    created, served, cooked, wait = rest[len(_ITEMS) :]
    if not (isinstance(created, datetime) and isinstance(served, datetime)):
        raise AnalystStoreError(
            f"{TABLE} holds its times as {type(served).__name__}, not timestamptz: "
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
