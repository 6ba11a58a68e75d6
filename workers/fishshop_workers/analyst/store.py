"""The analyst's table in PostgreSQL: made if missing, and read back for the audit.

Thin I/O over psycopg; what the table is lives in ``database.py``.
"""

from __future__ import annotations

import asyncio

import psycopg

from fishshop_workers.analyst.database import (
    TABLE_COLUMNS,
    WRITTEN_COLUMNS,
    DatabaseAddress,
    ServedRow,
    table_ddl,
)
from fishshop_workers.errors import ServiceError, remote_text

__all__ = [
    "CLIENT_ENCODING",
    "AnalystStoreError",
    "ServedRow",
    "connect",
    "make_table",
    "row_count",
    "served_rows",
]


class AnalystStoreError(ServiceError, RuntimeError):
    """PostgreSQL could not be reached or refused; the message says what to do."""


CLIENT_ENCODING = "utf8"
"""Every connection asks for UTF-8: a database made in the C locale is SQL_ASCII, and
a client that follows it reads text as bytes (ids as "b'01...'", matching no order;
the analyst's own table taken for someone else's)."""

COMMAND_LINE_HINT = "Check --postgres-url (postgresql://USER:PASSWORD@HOST:PORT/DATABASE)."


def connect(url: str, hint: str = COMMAND_LINE_HINT) -> psycopg.Connection[tuple[object, ...]]:
    """A connection; ``AnalystStoreError`` saying what failed and ``hint`` (where
    the address came from) when there is none."""
    try:
        return psycopg.connect(url, connect_timeout=10, client_encoding=CLIENT_ENCODING)
    except psycopg.Error as error:
        said = str(error).strip().splitlines()
        raise AnalystStoreError(
            f"cannot reach PostgreSQL: {said[0] if said else type(error).__name__}. {hint}"
        ) from None


TABLE_SECONDS = 30.0
"""How long making the table may take in all: connecting, then its statements."""
SERVER_LIMITS = "-c statement_timeout=10000 -c lock_timeout=5000 -c search_path=pg_catalog"
"""PostgreSQL gives up a statement after 10 s and a lock wait after 5 s (someone may
hold a lock on the table): the server ends the work, not only the client's wait. Every
name in the statements is qualified, and functions resolve from pg_catalog only, never
from a schema someone else can write to."""


async def make_table(
    url: str, hint: str = COMMAND_LINE_HINT, *, seconds: float = TABLE_SECONDS
) -> None:
    """Make the table if it is missing (idempotent), within ``seconds``: in the schema
    named after the URL's user, made too if missing, and refused when another user
    owns it.

    Asynchronous, on the event loop: a PostgreSQL that accepts the login and never
    answers costs a cancelled task, never a thread of the default pool (which the
    Kafka, Redis and HTTP clients need for their name lookups). The connection sets
    server-side limits and a TCP user timeout, and a deadline cancels it for real.
    """
    address = DatabaseAddress.from_url(url)
    try:
        async with asyncio.timeout(seconds):
            connection = await psycopg.AsyncConnection.connect(
                url,
                connect_timeout=max(2, int(seconds / 3)),
                client_encoding=CLIENT_ENCODING,
                options=SERVER_LIMITS,
                tcp_user_timeout=int(seconds * 1000),
                keepalives=1,
                keepalives_idle=5,
            )
            async with connection:
                await _own_schema(connection, address, hint)
                await _check_shape(connection, address.table, hint)  # before a statement
                try:
                    await connection.execute(table_ddl(address.schema))
                except psycopg.errors.UniqueViolation:
                    await connection.rollback()  # two makers at once: the other made it
    except TimeoutError:
        raise AnalystStoreError(
            f"PostgreSQL did not make table {address.table} within {seconds:.0f}s "
            f"(is another session holding a lock on it?). {hint}"
        ) from None
    except psycopg.Error as error:
        said = str(error).strip().splitlines()
        raise AnalystStoreError(
            f"cannot make table {address.table}: "
            f"{remote_text(said[0] if said else type(error).__name__)}. {hint}"
        ) from None


_SCHEMA_OWNER = (
    "SELECT pg_get_userbyid(nspowner), current_user FROM pg_namespace WHERE nspname = %s"
)


async def _own_schema(
    connection: psycopg.AsyncConnection[tuple[object, ...]], address: DatabaseAddress, hint: str
) -> None:
    """The user's schema, made when missing; refused when someone else owns it (they
    could read and change every row the sink writes there)."""
    found = await (await connection.execute(_SCHEMA_OWNER, (address.schema,))).fetchone()
    if found is None:
        try:
            await connection.execute(f"CREATE SCHEMA {address.schema} AUTHORIZATION CURRENT_USER")
        except psycopg.errors.InsufficientPrivilege:
            raise AnalystStoreError(
                f"user {address.user} may not create its schema {address.schema} in database "
                f"{address.database}: have the database's owner run CREATE SCHEMA "
                f"{address.schema} AUTHORIZATION {address.user}. {hint}"
            ) from None
        except (psycopg.errors.DuplicateSchema, psycopg.errors.UniqueViolation):
            # Another maker came first (two at once may meet in the catalog's index):
            # whose it is decides, as if it had been there.
            await connection.rollback()
            found = await (await connection.execute(_SCHEMA_OWNER, (address.schema,))).fetchone()
        if found is None:
            return
    owner, current = (str(value) for value in found)
    if owner != current:
        raise AnalystStoreError(
            f"schema {address.schema} belongs to {remote_text(owner, 63)}, not to "
            f"{remote_text(current, 63)}: the analyst keeps its table only in a schema its "
            f"user owns; drop that schema or give it to {address.user}. {hint}"
        )


SHAPE = """
SELECT
  (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
    WHERE attrelid = %(table)s::regclass AND attnum > 0 AND NOT attisdropped),
  (SELECT count(*) FROM pg_trigger WHERE tgrelid = %(table)s::regclass AND NOT tgisinternal),
  (SELECT relkind::text FROM pg_class WHERE oid = %(table)s::regclass)
"""
"""The table's columns in order, its triggers and its kind, as PostgreSQL resolves its
name for this connection (the same table the sink will write)."""


async def _check_shape(
    connection: psycopg.AsyncConnection[tuple[object, ...]], table: str, hint: str
) -> None:
    """Refuse a table of that name that someone else made: other columns, a trigger of
    their own, or a view in its place (the sink would write where they say)."""
    found_table = await (await connection.execute("SELECT to_regclass(%s)", (table,))).fetchone()
    if not found_table or found_table[0] is None:
        return  # not there yet: this maker makes it
    row = await (await connection.execute(SHAPE, {"table": table})).fetchone()
    columns, triggers, kind = row if row else (None, 0, None)
    found = tuple(str(c) for c in columns) if isinstance(columns, list) else ()
    if kind != "r" or found != TABLE_COLUMNS or triggers:
        what = (
            f"a {'view' if kind == 'v' else 'relation'} of kind {kind!r}"
            if kind != "r"
            else f"{triggers} trigger(s)"
            if triggers
            else f"columns {', '.join(found)}"
        )
        raise AnalystStoreError(
            f"table {table} exists but is not the analyst's ({remote_text(what, 300)}); "
            f"rename or drop it, or give a database of the shop's own. {hint}"
        )


def _read_refused(error: psycopg.Error, table: str) -> AnalystStoreError:
    """One line for a read PostgreSQL refused, saying where the table is looked for."""
    if isinstance(error, psycopg.errors.UndefinedTable):
        return AnalystStoreError(
            f"PostgreSQL has no table {table}: the analyst keeps it in the schema of the URL's "
            "user, so give the URL of the user the shop's analyst writes with (or its sink "
            "has not written yet)"
        )
    said = str(error).strip().splitlines()
    return AnalystStoreError(
        f"PostgreSQL refused to read {table}: "
        f"{remote_text(said[0] if said else type(error).__name__)}"
    )


def row_count(url: str, shop: str) -> int:
    table = DatabaseAddress.from_url(url).table
    with connect(url) as connection:
        try:
            row = connection.execute(
                f"SELECT count(*) FROM {table} WHERE shop = %s",  # noqa: S608 - names from the code
                (shop,),
            ).fetchone()
        except psycopg.Error as error:
            raise _read_refused(error, table) from None
        return int(row[0]) if row else 0  # type: ignore[call-overload]


def served_rows(url: str, shop: str) -> dict[str, ServedRow]:
    """Every row of one shop, by order id."""
    from fishshop_workers.shop.menu import MENU

    items = sorted(MENU)
    columns = ", ".join(WRITTEN_COLUMNS[1:])  # all but shop, which the query names
    table = DatabaseAddress.from_url(url).table
    with connect(url) as connection:
        try:
            cursor = connection.execute(
                f"SELECT {columns} FROM {table} WHERE shop = %s",  # noqa: S608 - names from the code
                (shop,),
            )
        except psycopg.Error as error:
            raise _read_refused(error, table) from None
        rows: dict[str, ServedRow] = {}
        for record in cursor:
            values = list(record)
            order_id, till, number = values[0], values[1], values[2]
            counts = dict(zip(items, values[3 : 3 + len(items)], strict=True))
            created, served, prepared, cooked = values[3 + len(items) :]
            rows[str(order_id)] = ServedRow(
                str(order_id),
                int(till),  # type: ignore[call-overload]
                int(number),  # type: ignore[call-overload]
                {k: int(v) for k, v in counts.items()},  # type: ignore[call-overload]
                created,  # type: ignore[arg-type]
                served,  # type: ignore[arg-type]
                prepared,  # type: ignore[arg-type]
                cooked,  # type: ignore[arg-type]
            )
        return rows
