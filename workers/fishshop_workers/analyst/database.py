"""The analyst's database: where its PostgreSQL is, and the table it keeps there.

The address is read once from a libpq URL and checked; the same address serves
psycopg (``libpq_url``) and the sink connector (``jdbc_url`` with user and password
apart, as the JDBC sink wants them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, quote, unquote, urlsplit

from fishshop_workers.errors import InputError
from fishshop_workers.shop.menu import MENU

__all__ = [
    "TABLE",
    "TABLE_COLUMNS",
    "USER_NAME",
    "WRITTEN_COLUMNS",
    "DatabaseAddress",
    "DatabaseAddressError",
    "ServedRow",
    "plain_name",
    "table_ddl",
]

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")
USER_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
"""A user the analyst can work as (whole, with ``fullmatch``): its table lives in the
schema of the user's name, which PostgreSQL, the sink and a person's query all name
without quotes; so not one of PostgreSQL's reserved words either."""
RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ]
)
"""PostgreSQL's reserved key words (its docs' appendix C), which need quotes as names."""


def plain_name(name: str) -> bool:
    """``name`` is a schema the analyst can name without quotes."""
    return USER_NAME.fullmatch(name) is not None and name not in RESERVED


#: libpq's sslmode values, which PostgreSQL's JDBC driver takes under the same name.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class DatabaseAddressError(InputError, ValueError):
    """A PostgreSQL URL that fishshop cannot use; the message says why."""


@dataclass(frozen=True)
class DatabaseAddress:
    host: str
    port: int
    database: str
    user: str
    password: str = field(default="", repr=False)
    sslmode: str = ""
    """TLS to PostgreSQL (``?sslmode=require``); empty: the clients' default."""

    @classmethod
    def from_url(cls, url: str) -> DatabaseAddress:
        """Read ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE``."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port or 5432
        except ValueError as error:
            raise DatabaseAddressError(f"not a PostgreSQL URL: {error}") from None
        if parts.scheme not in {"postgresql", "postgres"}:
            raise DatabaseAddressError(
                "a PostgreSQL URL starts with postgresql:// "
                "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
            )
        host = parts.hostname or ""
        database = unquote(parts.path.lstrip("/"))
        user = unquote(parts.username or "")
        if not _HOST.match(host):
            raise DatabaseAddressError(f"the URL's host {host!r} is not a host name or address")
        if not _NAME.fullmatch(database):
            raise DatabaseAddressError(
                f"the URL names database {database!r}: give one database name after the host"
            )
        if not user:
            raise DatabaseAddressError(
                "the URL needs a user: postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        if not plain_name(user):
            raise DatabaseAddressError(
                f"the URL's user {user[:63]!r} will not do: the analyst keeps its table in "
                "the schema named after the user, so the name must be 1 to 63 lower-case "
                "letters, digits and _, not starting with a digit, and not a word "
                "PostgreSQL reserves (postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
            )
        options = parse_qs(parts.query, keep_blank_values=True)
        sslmode = (options.pop("sslmode", [""]) or [""])[-1]
        if options or parts.fragment:
            raise DatabaseAddressError(
                "the URL takes one option after the database name, sslmode "
                "(for example ?sslmode=verify-full); not "
                + ", ".join(sorted(options) or ["a #fragment"])
            )
        if sslmode and sslmode not in SSL_MODES:
            raise DatabaseAddressError(f"sslmode must be one of {', '.join(SSL_MODES)}")
        return cls(host, port, database, user, unquote(parts.password or ""), sslmode)

    @property
    def libpq_url(self) -> str:
        secret = f":{quote(self.password, safe='')}" if self.password else ""
        where = f"{self.host}:{self.port}/{self.database}"
        tls = f"?sslmode={self.sslmode}" if self.sslmode else ""
        return f"postgresql://{quote(self.user, safe='')}{secret}@{where}{tls}"

    @property
    def jdbc_url(self) -> str:
        """The sink's URL. ``stringtype=unspecified`` lets PostgreSQL read the
        record's ISO 8601 times into timestamptz columns itself."""
        url = f"jdbc:postgresql://{self.host}:{self.port}/{self.database}?stringtype=unspecified"
        return f"{url}&sslmode={self.sslmode}" if self.sslmode else url

    @property
    def schema(self) -> str:
        """The schema of the shop's table: the user's own (see ``TABLE``)."""
        return self.user

    @property
    def table(self) -> str:
        """The shop's table, schema-qualified: ``<user>.served_orders``."""
        return f"{self.schema}.{TABLE}"

    @property
    def shown(self) -> str:
        """The address without its password, for messages and logs."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


# The analyst's table: one row per served order, as a person would query it.
# The sink writes the columns it is given (shop, id, till, order number, the
# portions of each item on the menu, the two times, who prepared and who cooked);
# PostgreSQL computes the rest as generated columns, so every row is whole whoever
# wrote it: the items as text and the customer's wait. A replay of an order
# rewrites the same row (the sink upserts on shop and id).
#
# The table lives in the schema named after the database user (``<user>.served_orders``),
# PostgreSQL's user-private schema: tenants given users of their own in one database
# cannot read, write or pre-empt each other's table, and a person logged in as that
# user finds it as plain ``served_orders`` (the default search_path starts "$user").
# Shops that share a user share its table, one row per (shop, order).
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


TABLE_COLUMNS = (*WRITTEN_COLUMNS, "items", "wait_seconds")
"""Every column of the table, the generated ones last: a table of that name with
other columns (or a trigger) is not the analyst's, and is refused."""


def table_ddl(schema: str) -> str:
    """Statements that make the table in ``schema`` (a ``USER_NAME``) if it is missing."""
    if not plain_name(schema):
        raise ValueError(f"not a schema the analyst uses: {schema!r}")
    table = f"{schema}.{TABLE}"
    items = sorted(MENU)
    portions = "".join(f"  {item} integer NOT NULL,\n" for item in items)
    # concat_ws is only stable; a generated column takes immutable expressions.
    described = " || ".join(
        f"CASE WHEN {item} > 0 THEN {item}::text || ' {item}, ' ELSE '' END" for item in items
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (\n"
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
        f"CREATE INDEX IF NOT EXISTS {TABLE}_shop_served_at ON {table} (shop, served_at);\n"
    )
