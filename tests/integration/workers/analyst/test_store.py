"""Making the analyst's table against a PostgreSQL that does not cooperate: a lock held
on the table, a server that accepts and never answers. Each attempt ends by its
deadline, and none holds a thread of the default pool that name lookups need."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from fishshop_workers.analyst.database import TABLE, DatabaseAddress
from fishshop_workers.analyst.queries import AnalystReader
from fishshop_workers.analyst.store import AnalystStoreError, make_table, served_rows
from fishshop_workers.embedded.postgres import USER, EmbeddedPostgres

pytestmark = pytest.mark.slow


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    yield f"postgresql://fishshop:secret@127.0.0.1:{port}/fishshop"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


async def _lookups_stay_quick() -> float:
    """How long a name lookup on the loop's default executor takes."""
    began = time.monotonic()
    await asyncio.get_running_loop().getaddrinfo("localhost", 80)
    return time.monotonic() - began


async def test_a_lock_held_on_the_table_ends_each_attempt_by_its_deadline(
    postgres_server: EmbeddedPostgres,
) -> None:
    with psycopg.connect(postgres_server.url) as holder:
        holder.execute(f"LOCK TABLE {USER}.{TABLE} IN ACCESS EXCLUSIVE MODE")
        began = time.monotonic()
        attempts = [make_table(postgres_server.url, "hint", seconds=20) for _ in range(12)]
        lookup = asyncio.ensure_future(_lookups_stay_quick())
        results = await asyncio.gather(*attempts, return_exceptions=True)
        took = time.monotonic() - began
        holder.rollback()
    assert all(isinstance(r, AnalystStoreError) for r in results), results
    assert "lock" in str(results[0])
    assert took < 15, took  # the server's lock_timeout (5 s), not the client's 20 s
    assert await lookup < 2.0


async def test_a_server_that_never_answers_costs_a_cancelled_task_not_a_thread(
    silent_server: str,
) -> None:
    threads = threading.active_count()
    began = time.monotonic()
    attempts = [make_table(silent_server, "hint", seconds=2) for _ in range(40)]
    lookup = asyncio.ensure_future(_lookups_stay_quick())
    results = await asyncio.gather(*attempts, return_exceptions=True)
    assert time.monotonic() - began < 8
    assert all(isinstance(r, AnalystStoreError) for r in results), results
    assert "within 2s" in str(results[0])
    assert await lookup < 2.0
    assert threading.active_count() <= threads + 2


def _database_of_its_own(server: EmbeddedPostgres, name: str, options: str = "") -> str:
    with psycopg.connect(server.url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}" {options}')
    return server.url.rsplit("/", 1)[0] + f"/{name}"


async def test_a_database_in_sql_ascii_reads_as_text(postgres_server: EmbeddedPostgres) -> None:
    """A database made by a bare initdb in the C locale is SQL_ASCII, and a client that
    follows the server's encoding gets bytes for text: ids read back as "b'01...'" and
    no row matched its order. Every connection asks for UTF-8."""
    ascii_only = "ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
    url = _database_of_its_own(postgres_server, "ascii", ascii_only)
    await make_table(url)
    await make_table(url)  # the shape check reads the column names as text
    with psycopg.connect(url, autocommit=True) as writer:
        writer.execute(
            f"INSERT INTO {DatabaseAddress.from_url(url).table} (shop, id, till, order_number, "
            "chips, cod, plaice, "
            "created_at, served_at, prepared_by) "
            "VALUES ('ascii', '01ID', 1, 7, 1, 1, 0, now(), now(), 'p0')"
        )
    rows = served_rows(url, "ascii")
    assert list(rows) == ["01ID"]
    assert rows["01ID"].prepared_by == "p0"
    reader = AnalystReader(url, "ascii")
    try:
        snapshot = await reader.look(10)
    finally:
        await reader.close()
    assert snapshot.rows == 1


async def test_a_table_someone_else_made_is_refused(postgres_server: EmbeddedPostgres) -> None:
    """Another holder of the credentials made served_orders first, with columns of
    their own: the operator says so instead of pointing the sink at it."""
    url = _database_of_its_own(postgres_server, "squatted")
    with psycopg.connect(url, autocommit=True) as squatter:
        squatter.execute(f"CREATE SCHEMA {USER}")
        squatter.execute(f"CREATE TABLE {USER}.{TABLE} (shop text, id text, secret text)")
    with pytest.raises(
        AnalystStoreError, match=r"exists but is not the analyst's \(columns shop, id, secret\)"
    ):
        await make_table(url, "Check it.")


async def test_a_trigger_on_the_table_is_refused(postgres_server: EmbeddedPostgres) -> None:
    url = _database_of_its_own(postgres_server, "triggered")
    await make_table(url)  # the analyst's own table: accepted, and again
    await make_table(url)
    with psycopg.connect(url, autocommit=True) as squatter:
        squatter.execute(
            "CREATE FUNCTION copy_rows() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NEW; END $$"
        )
        squatter.execute(
            f"CREATE TRIGGER copy BEFORE INSERT ON {USER}.{TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION copy_rows()"
        )
    with pytest.raises(AnalystStoreError, match=r"\(1 trigger\(s\)\)"):
        await make_table(url)


async def test_a_view_in_its_place_is_refused(postgres_server: EmbeddedPostgres) -> None:
    url = _database_of_its_own(postgres_server, "viewed")
    with psycopg.connect(url, autocommit=True) as squatter:
        squatter.execute(f"CREATE SCHEMA {USER}")
        squatter.execute(f"CREATE VIEW {USER}.{TABLE} AS SELECT 1 AS shop")
    with pytest.raises(AnalystStoreError, match="not the analyst's"):
        await make_table(url)


def _tenant(server: EmbeddedPostgres, database: str, user: str, create: bool = True) -> str:
    """A login of the tenant's own in ``database``, allowed to make schemas there
    (``create``) as a database's owner is; its URL."""
    with psycopg.connect(server.url, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {user}")
        admin.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'pw-{user}'")
        if create:
            admin.execute(f'GRANT CREATE ON DATABASE "{database}" TO {user}')
    host = server.url.split("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{user}:pw-{user}@{host}/{database}"


def _write_row(url: str, shop: str) -> None:
    with psycopg.connect(url, autocommit=True) as writer:
        writer.execute(
            f"INSERT INTO {DatabaseAddress.from_url(url).table} (shop, id, till, order_number, "
            "chips, cod, plaice, created_at, served_at) "
            "VALUES (%s, '01ID', 1, 1, 1, 1, 0, now(), now())",
            (shop,),
        )


async def test_tenants_with_users_of_their_own_keep_tables_apart(
    postgres_server: EmbeddedPostgres,
) -> None:
    """Two tenants, one database, a user each: each shop's table is in its user's own
    schema, and neither can read, write or pre-empt the other's."""
    database = "shared"
    _database_of_its_own(postgres_server, database)
    alice = _tenant(postgres_server, database, "alice")
    bob = _tenant(postgres_server, database, "bob")
    await make_table(alice)
    await make_table(bob)
    _write_row(alice, "fs-a/harbour")
    assert list(served_rows(alice, "fs-a/harbour")) == ["01ID"]
    assert served_rows(bob, "fs-a/harbour") == {}  # bob reads bob's own table
    with psycopg.connect(bob, autocommit=True) as snoop:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            snoop.execute(f"SELECT * FROM alice.{TABLE}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            snoop.execute(f"DELETE FROM alice.{TABLE}")
        # A person logged in as bob finds bob's table by its plain name.
        assert snoop.execute(f"SELECT count(*) FROM {TABLE}").fetchone() == (0,)


async def test_a_schema_another_user_made_is_refused(postgres_server: EmbeddedPostgres) -> None:
    """Mallory, first in the database, made the schema named after carol's user: carol's
    rows would be mallory's to read, so carol's shop is refused, saying whose it is."""
    database = "preempted"
    _database_of_its_own(postgres_server, database)
    mallory = _tenant(postgres_server, database, "mallory")
    carol = _tenant(postgres_server, database, "carol")
    with psycopg.connect(mallory, autocommit=True) as squatter:
        squatter.execute("CREATE SCHEMA carol")
    with pytest.raises(AnalystStoreError, match="schema carol belongs to mallory, not to carol"):
        await make_table(carol, "Check it.")


async def test_a_user_that_may_not_make_its_schema_is_told_what_to_ask(
    postgres_server: EmbeddedPostgres,
) -> None:
    database = "locked"
    _database_of_its_own(postgres_server, database)
    dave = _tenant(postgres_server, database, "dave", create=False)
    with pytest.raises(
        AnalystStoreError, match=r"may not create its schema dave.*CREATE SCHEMA dave AUTHORIZATION"
    ):
        await make_table(dave, "Check it.")
