"""The console consumer's books (the crash test's independent audit) see what
they must: unserved, duplicated, unknown and dead-lettered orders."""

from __future__ import annotations

from tests.support.console_consumer import ConsoleBooks, keep_books

A = '{"id": "a", "ready": false}'
A_COOKED = '{"id": "a", "ready": true}'
B = '{"id": "b"}'


def test_every_order_served_once_is_clean() -> None:
    books = keep_books([A, B, A_COOKED], [A_COOKED, B], [])
    assert books == ConsoleBooks(
        created=2, served=2, unserved=0, duplicates=0, served_unknown=0, dlq=0
    )


def test_a_second_serving_is_a_duplicate_and_a_missing_one_is_unserved() -> None:
    books = keep_books([A, B], [A, A], ["rejected"])
    assert books.duplicates == 1
    assert books.unserved == 1
    assert books.dlq == 1


def test_a_served_order_nobody_took_is_unknown() -> None:
    assert keep_books([A], [A, B], []).served_unknown == 1
