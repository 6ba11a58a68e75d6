"""Unit tests for fishshop_operator.analyst.spec: what ``spec.analyst`` may hold, and
the PostgreSQL its Secret names, checked by the operator with the CRD's words."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from fishshop_operator.analyst.spec import (
    CONNECT_URL_MESSAGE,
    POSTGRES_CREDENTIALS_NAME_MESSAGE,
    AnalystSpec,
    PostgresSecretError,
    read_analyst,
    read_postgres_secret,
)
from fishshop_workers.shop.spec import ShopSpecError
from tests.support.operator_bodies import shop_body, shop_resource

CONNECT = "http://connect.kafka.svc:8083"


def _read(**section: Any) -> AnalystSpec | None:
    return read_analyst({"analyst": {"connectUrl": CONNECT, "postgresSecret": "pg", **section}})


def _secret(url: str | None = None, **data: str) -> dict[str, Any]:
    if url is not None:
        data["url"] = base64.b64encode(url.encode()).decode()
    return {"metadata": {"name": "pg"}, "data": data}


def test_no_section_means_no_analyst() -> None:
    assert read_analyst({}) is None
    assert read_analyst({"analyst": None}) is None
    assert shop_resource().analyst is None


def test_a_section_is_read_with_one_task_by_default() -> None:
    assert _read() == AnalystSpec(CONNECT, "pg", 1)
    assert _read(tasks=8, connectUrl="https://connect.example.com/kafka/") == AnalystSpec(
        "https://connect.example.com/kafka", "pg", 8
    )


def test_the_resource_carries_it_and_the_shops_label() -> None:
    body = shop_body(analyst={"connectUrl": CONNECT, "postgresSecret": "pg-url", "tasks": 2})
    from fishshop_operator.shop.resource import read_resource

    shop = read_resource(body)
    assert shop.analyst == AnalystSpec(CONNECT, "pg-url", 2)
    assert shop.label == "seaside/harbour"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7:8083",
        "http://[fd00::7]:8083",
        "https://connect",
        "http://connect.kafka.svc:8083/",
        "http://connect:8083/api/connect-1",
    ],
)
def test_connect_urls_that_pass(url: str) -> None:
    spec = _read(connectUrl=url)
    assert spec is not None and spec.connect_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "connect:8083",
        "ftp://connect:8083",
        "http://user:pw@connect:8083",
        "http://connect:8083?x=1",
        "http://connect:8083#here",
        "http://connect:0",
        "http://connect:65536",
        "http://connect:8083/../x y",
        "http://-connect:8083",
        "http:///connectors",
        "http://" + "a" * 1100,
    ],
)
def test_connect_urls_that_are_refused_with_the_crds_words(url: str) -> None:
    with pytest.raises(ShopSpecError) as caught:
        _read(connectUrl=url)
    assert str(caught.value) == f"spec.analyst.connectUrl: {CONNECT_URL_MESSAGE}"
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize("name", ["../secrets", "PG", "pg/url", "-pg", "a" * 254, "pg_url"])
def test_secret_names_that_could_reach_another_object_are_refused(name: str) -> None:
    with pytest.raises(ShopSpecError, match="postgresSecret") as caught:
        _read(postgresSecret=name)
    assert POSTGRES_CREDENTIALS_NAME_MESSAGE in str(caught.value)


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ("http://x:1", "must be a mapping"),
        ({"postgresSecret": "pg"}, "connectUrl is required"),
        ({"connectUrl": CONNECT}, "postgresSecret is required"),
        ({"connectUrl": CONNECT, "postgresSecret": ""}, "postgresSecret is required"),
    ],
)
def test_a_section_without_what_it_needs_says_what(section: Any, words: str) -> None:
    with pytest.raises(ShopSpecError, match=words):
        read_analyst({"analyst": section})


@pytest.mark.parametrize("tasks", [0, 9, -1, 1.5, True, "2"])
def test_tasks_must_be_one_to_eight(tasks: Any) -> None:
    with pytest.raises(ShopSpecError, match="tasks must be a whole number from 1 to 8"):
        _read(tasks=tasks)


def test_the_secret_gives_the_database_for_psycopg_and_for_the_sink() -> None:
    address = read_postgres_secret(
        _secret("postgresql://shop:p%2Fw%40x@db.pg.svc:5433/fish\n"), "seaside/pg"
    )
    assert (address.user, address.password, address.host) == ("shop", "p/w@x", "db.pg.svc")
    assert address.jdbc_url.startswith("jdbc:postgresql://db.pg.svc:5433/fish")
    assert "p/w" not in repr(address)


def test_a_missing_secret_is_told_apart() -> None:
    with pytest.raises(PostgresSecretError) as caught:
        read_postgres_secret(None, "seaside/pg")
    assert caught.value.missing
    assert "Secret seaside/pg named by spec.analyst.postgresSecret does not exist" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        (_secret(other="eA=="), "has no url; it needs url: postgresql://USER:PASSWORD@HOST"),
        ({"data": {"url": "not base64!"}}, "url is not base64 UTF-8 text"),
        ({"data": {"url": "A" * 6000}}, "longer than a PostgreSQL URL"),
        (_secret("mysql://u:secret-pw@db/x"), "starts with postgresql://"),
        (_secret("postgresql://u:secret-pw@db:5432/"), "names database ''"),
    ],
)
def test_an_unusable_secret_says_what_to_fix_without_the_password(
    secret: dict[str, Any], words: str
) -> None:
    with pytest.raises(PostgresSecretError) as caught:
        read_postgres_secret(secret, "seaside/pg")
    assert not caught.value.missing
    assert words in str(caught.value)
    assert str(caught.value).startswith("Secret seaside/pg")
    assert "secret-pw" not in str(caught.value)
