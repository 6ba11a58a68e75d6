"""The analyst's table: one row per served order, as a person would query it.

The sink writes the columns it is given (shop, id, till, order number, the
portions of each item on the menu, the two times, who prepared and who cooked);
PostgreSQL computes the rest as generated columns, so every row is whole whoever
wrote it: the items as text and the customer's wait. A replay of an order
rewrites the same row (the sink upserts on shop and id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fishshop_workers.shop.menu import MENU

__all__ = ["TABLE", "WRITTEN_COLUMNS", "ServedRow", "table_ddl"]

TABLE = "served_orders"


@dataclass(frozen=True)
class ServedRow:
    """One row as written (the generated columns follow from it)."""

    id: str
    till: int
    order_number: int
    portions: dict[str, int]
    created_at: datetime
    served_at: datetime
    prepared_by: str | None
    cooked_by: str | None


#: The columns the sink connector writes, in the record's words after renaming.
WRITTEN_COLUMNS = (
    "shop",
    "id",
    "till",
    "order_number",
    *sorted(MENU),
    "created_at",
    "served_at",
    "prepared_by",
    "cooked_by",
)


def table_ddl() -> str:
    """Statements that make the table if it is missing."""
    items = sorted(MENU)
    portions = "".join(f"  {item} integer NOT NULL,\n" for item in items)
    # concat_ws is only stable; a generated column takes immutable expressions.
    described = " || ".join(
        f"CASE WHEN {item} > 0 THEN {item}::text || ' {item}, ' ELSE '' END" for item in items
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (\n"
        "  shop text NOT NULL,\n"
        "  id text NOT NULL,\n"
        "  till integer NOT NULL,\n"
        "  order_number bigint NOT NULL,\n" + portions + "  created_at timestamptz NOT NULL,\n"
        "  served_at timestamptz NOT NULL,\n"
        "  prepared_by text,\n"
        "  cooked_by text,\n"
        f"  items text GENERATED ALWAYS AS (rtrim({described}, ', ')) STORED,\n"
        "  wait_seconds double precision GENERATED ALWAYS AS "
        "(extract(epoch FROM served_at - created_at)::double precision) STORED,\n"
        "  PRIMARY KEY (shop, id)\n"
        ");\n"
        f"CREATE INDEX IF NOT EXISTS {TABLE}_shop_served_at ON {TABLE} (shop, served_at);\n"
    )
