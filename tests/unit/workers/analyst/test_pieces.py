"""The analyst's pure pieces: where PostgreSQL is, the sink's config, the table,
the comparison of the table with the served topic, and the restart backoff."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from fishshop_workers.analyst.comparison import compare_table, expected_row
from fishshop_workers.analyst.database import (
    TABLE,
    DatabaseAddress,
    DatabaseAddressError,
    table_ddl,
)
from fishshop_workers.analyst.restarts import (
    FIRST_DELAY,
    LONGEST_DELAY,
    RestartBackoff,
    trace_reason,
)
from fishshop_workers.analyst.sink import (
    SERVED_SCHEMA,
    SHOP_LABEL_KEY,
    belongs_to,
    connector_name,
    shop_label,
    sink_connector_config,
)
from fishshop_workers.shop.menu import count_portions
from fishshop_workers.shop.order import Order, encode_order, parse_order

# -- where PostgreSQL is ---------------------------------------------------------------


def test_a_url_gives_both_clients_the_same_database() -> None:
    address = DatabaseAddress.from_url("postgresql://shop_eu:p%40ss@db.example:6543/sales")
    assert (address.host, address.port, address.database) == ("db.example", 6543, "sales")
    assert (address.user, address.password) == ("shop_eu", "p@ss")
    assert address.libpq_url == "postgresql://shop_eu:p%40ss@db.example:6543/sales"
    assert address.table == "shop_eu.served_orders"  # the user's own schema
    assert address.jdbc_url == "jdbc:postgresql://db.example:6543/sales?stringtype=unspecified"
    assert "p@ss" not in repr(address) and "p@ss" not in address.shown


def test_tls_is_asked_for_with_sslmode_and_reaches_the_sink_too() -> None:
    address = DatabaseAddress.from_url("postgresql://u:p@db:5432/d?sslmode=verify-full")
    assert address.libpq_url.endswith("?sslmode=verify-full")
    assert address.jdbc_url.endswith("?stringtype=unspecified&sslmode=verify-full")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://u:p@db/d", "starts with postgresql://"),
        ("postgresql://u:p@db", "database"),
        ("postgresql://u:p@db/d/e", "database"),
        ("postgresql://:p@db/d", "needs a user"),
        # The table is in the schema named after the user, which the sink names unquoted.
        ("postgresql://shop%40eu:p@db/d", "user 'shop@eu' will not do.*lower-case letters"),
        ("postgresql://Shop:p@db/d", "user 'Shop' will not do"),
        ("postgresql://9lives:p@db/d", "not starting with a digit"),
        ("postgresql://user:p@db/d", "not a word PostgreSQL reserves"),
        ("postgresql://alice%0A:p@db/d", "will not do"),
        ("postgresql://u:p@db/d%0A", "database"),
        ("postgresql://u:p@db/d?options=-c%20x", "sslmode"),
        ("postgresql://u:p@db/d?sslmode=sometimes", "sslmode must be one of"),
        ("postgresql://u:p@db:99999/d", "not a PostgreSQL URL"),
        ("postgresql://u:p@bad_host!/d", "host"),
    ],
)
def test_a_url_fishshop_cannot_use_is_refused_with_a_reason(url: str, said: str) -> None:
    with pytest.raises(DatabaseAddressError, match=said) as refused:
        DatabaseAddress.from_url(url)
    assert ":p@" not in str(refused.value)


# -- the sink's config -----------------------------------------------------------------


def _config() -> dict[str, str]:
    return sink_connector_config(
        shop="fs-a/harbour",
        topic_prefix="fishshop.fs-a.harbour",
        database=DatabaseAddress.from_url("postgresql://u:p@db:5432/d"),
    )


def test_the_sink_reads_committed_orders_only_and_upserts_on_shop_and_id() -> None:
    config = _config()
    assert config["consumer.override.isolation.level"] == "read_committed"
    assert (config["insert.mode"], config["primary.key.fields"]) == ("upsert", "shop,id")
    assert config["collection.name.format"] == f"u.{TABLE}"  # the user's own schema
    assert config["topics"] == "fishshop.fs-a.harbour.served"
    assert config["errors.deadletterqueue.topic.name"] == "fishshop.fs-a.harbour.analyst-dlq"
    assert config["connection.url"] == "jdbc:postgresql://db:5432/d?stringtype=unspecified"
    assert (config["connection.username"], config["connection.password"]) == ("u", "p")
    assert all(isinstance(value, str) for value in config.values())


def test_the_schema_is_given_once_in_the_config_not_in_each_record() -> None:
    config = _config()
    assert config["value.converter.schemas.enable"] == "true"
    schema = json.loads(config["value.converter.schema.content"])
    assert schema == json.loads(json.dumps(SERVED_SCHEMA))
    fields = {f["field"]: f for f in schema["fields"]}
    assert "parts" not in fields  # a list of lists maps to no column
    assert {f["field"] for f in fields["portions"]["fields"]} == {"cod", "chips", "plaice"}


def test_every_field_the_schema_reads_is_in_a_served_record() -> None:
    order = Order("01J", 7, 2, (("cod", "chips"), ("plaice", "chips")), "2026-11-25T12:00:00.000Z")
    served = json.loads(
        encode_order(order.cooked("cook-1").served("2026-11-25T12:00:01.500Z", "p-1"))
    )
    for field in SERVED_SCHEMA["fields"]:
        assert field["field"] in served or field["optional"], field
    assert served["portions"] == {"chips": 2, "cod": 1, "plaice": 1}
    assert not isinstance(parse_order(json.dumps(served).encode()), type(None))


def test_a_connector_is_taken_only_when_free_or_already_the_shops() -> None:
    assert belongs_to(None, "fs-a/harbour")
    assert belongs_to(_config(), "fs-a/harbour")
    assert not belongs_to(_config(), "fs-b/harbour")
    assert not belongs_to({"connector.class": "x"}, "fs-a/harbour")
    assert _config()[SHOP_LABEL_KEY] == shop_label("harbour", "fs-a") == "fs-a/harbour"
    assert shop_label("harbour") == "harbour"
    assert connector_name("fishshop.fs-a.harbour") == "fishshop.fs-a.harbour.analyst"


def test_the_table_computes_items_and_wait_from_what_the_sink_writes() -> None:
    ddl = table_ddl("shop_eu")
    assert "CREATE TABLE IF NOT EXISTS shop_eu.served_orders (" in ddl
    assert "ON shop_eu.served_orders (shop, served_at)" in ddl
    assert "PRIMARY KEY (shop, id)" in ddl
    assert "wait_seconds double precision GENERATED ALWAYS" in ddl
    for item in ("cod", "chips", "plaice"):
        assert f"  {item} integer NOT NULL" in ddl
    assert "concat_ws" not in ddl  # only immutable expressions in generated columns
    with pytest.raises(ValueError, match="not a schema"):
        table_ddl('x"; DROP TABLE y; --')


# -- the table against the served topic ------------------------------------------------


def _served(order_id: str, at: datetime) -> Order:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return Order(order_id, 1, 1, (("cod", "chips"),), stamp).served(stamp, "p-1")


def test_books_count_missing_extra_and_different_rows() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    served = {i: _served(i, now + timedelta(seconds=n)) for n, i in enumerate("abc")}
    rows = {i: expected_row(served[i]) for i in "ab"}
    rows["b"] = dataclasses.replace(rows["b"], till=9)
    rows["z"] = expected_row(_served("z", now + timedelta(seconds=5)))
    books = compare_table(served, rows)
    assert (books.rows, books.missing, books.extra, books.differ) == (3, 1, 1, 1)
    assert not books.clean
    assert set(books.examples) == {"b", "c", "z"}


def test_rows_older_than_the_topic_keeps_are_counted_apart() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    served = {"a": _served("a", now)}
    rows = {
        "a": expected_row(served["a"]),
        "old": expected_row(_served("old", now - timedelta(days=8))),
    }
    books = compare_table(served, rows)
    assert (books.missing, books.extra, books.differ, books.older) == (0, 0, 0, 1)
    assert books.clean
    assert books.as_dict()["older_than_topic"] == 1


def test_a_row_that_differs_from_its_record_is_found() -> None:
    from dataclasses import replace

    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    served = {"a": _served("a", now)}
    row = expected_row(served["a"])
    for changed in (
        replace(row, till=2),
        replace(row, portions={**row.portions, "cod": 5}),
        replace(row, served_at=row.served_at + timedelta(seconds=1)),
        replace(row, cooked_by="someone"),
    ):
        assert compare_table(served, {"a": changed}).differ == 1
    assert compare_table(served, {"a": row}).clean
    assert row.portions == count_portions((("cod", "chips"),))


# -- restarts ----------------------------------------------------------------------------


def test_restarts_come_at_once_then_less_and_less_often() -> None:
    backoff, now, waits = RestartBackoff(), 0.0, []
    for _ in range(12):
        assert backoff.due(now)
        backoff = backoff.restarted(now)
        waits.append(backoff.delay())
        assert not backoff.due(now + backoff.delay() - 0.1)
        now += backoff.delay()
    assert waits[0] == FIRST_DELAY and waits[-1] == LONGEST_DELAY


def test_a_trace_is_said_in_one_line_with_its_root_cause() -> None:
    trace = (
        "org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask\n"
        "\tat x.y(Z.java:1)\n"
        "Caused by: org.postgresql.util.PSQLException: FATAL: password authentication failed\n"
    )
    said = trace_reason(trace)
    assert "\n" not in said and said.endswith("FATAL: password authentication failed)")
    assert trace_reason(None) == ""
