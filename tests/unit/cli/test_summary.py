"""Unit tests for ``fishshop demo``'s summary with a hot cabinet, and its Redis options."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fishshop.demo.boards.cabinet import FromCabinet
from fishshop.main import build_parser
from fishshop.options import cabinet_connection
from fishshop.summary import print_demo_summary
from fishshop_workers.audit.summary import Summary
from fishshop_workers.shop.kitchen import serve_order
from fishshop_workers.shop.order import Order
from fishshop_workers.shop.topics import ShopTopics

BOOKS = {
    "cod": {"fried": 52, "served": 45, "left": 7},
    "chips": {"fried": 120, "served": 101, "left": 19},
    "plaice": {"fried": 12, "served": 12, "left": 0},
}
ORDERS = Summary(40, 40, 0, 0, 0, 0, 1.5, 4.0)
NOON = datetime(2026, 11, 25, 12, 0, 2, tzinfo=UTC)


def _from_cabinet() -> FromCabinet:
    tally = FromCabinet()
    order = Order("01J", 7, 1, (("cod", "chips"), ("chips", "chips")), "2026-11-25T12:00:00.000Z")
    topics = ShopTopics.from_prefix("fishshop.hot-cabinet")
    tally.add([serve_order(order, topics, "preparer-1", NOON)])
    return tally


def test_json_adds_the_cabinet_its_gaps_and_what_was_served_from_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = dataclasses.replace(ORDERS, cabinet=BOOKS)
    print_demo_summary(summary, _from_cabinet(), as_json=True)
    printed = json.loads(capsys.readouterr().out)
    assert printed["orders_served"] == 40
    assert printed["cabinet"] == BOOKS
    assert printed["cabinet_gaps"] == {}
    assert printed["served_from_cabinet"] == {"orders": 1, "cod": 1, "chips": 3, "plaice": 0}


def test_text_says_the_books_item_by_item_and_whether_they_balance(
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = dataclasses.replace(ORDERS, cabinet=BOOKS, cabinet_gaps={"cod": 2})
    print_demo_summary(summary, _from_cabinet(), as_json=False)
    lines = capsys.readouterr().out.splitlines()
    assert "orders_served    40" in lines
    assert not any("{" in line for line in lines), "no dict printed raw"
    assert "served from the cabinet: 1 orders (cod 1, chips 3)" in lines
    assert lines[-4].split() == ["cabinet", "cod", "fried", "52", "served", "45", "left", "7"]
    assert lines[-1].startswith("✗ BOOKS DO NOT BALANCE") and "cod +2" in lines[-1]
    assert not summary.clean, "gaps make the demo's exit code 1"


def test_a_shop_without_a_cabinet_prints_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    print_demo_summary(ORDERS, None, as_json=True)
    assert "cabinet" not in json.loads(capsys.readouterr().out)
    print_demo_summary(ORDERS, None, as_json=False)
    text = capsys.readouterr().out
    assert "cabinet" not in text and text.rstrip().endswith("every order served exactly once")


def test_the_demo_takes_a_redis_of_ones_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    args = build_parser().parse_args(["demo", "--scenario", "hot-cabinet"])
    assert cabinet_connection(args) is None, "no URL: the demo starts a local Redis"
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    args = build_parser().parse_args(
        [
            "demo",
            "--scenario",
            "hot-cabinet",
            "--redis-url",
            "redis://cache:6380/2",
            "--redis-password-file",
            str(secret),
        ]
    )
    connection = cabinet_connection(args)
    assert connection is not None
    assert connection.url == "redis://cache:6380/2"
    assert connection.read_password() == "s3cret"
    monkeypatch.setenv("FISHSHOP_REDIS_URL", "rediss://cache:6390")
    connection = cabinet_connection(build_parser().parse_args(["demo"]))
    assert connection is not None and connection.url == "rediss://cache:6390"


def test_the_redis_user_from_a_secrets_variable_loses_its_trailing_newline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Secret made with --from-file from a file written by echo ends in a newline; the
    pods get it as FISHSHOP_REDIS_USER, and the operator reads it the same way."""
    monkeypatch.setenv("FISHSHOP_REDIS_USER", "fishshop.team-a.harbour\n")
    args = build_parser().parse_args(["demo", "--redis-url", "redis://cache:6380/0"])
    connection = cabinet_connection(args)
    assert connection is not None and connection.username == "fishshop.team-a.harbour"
