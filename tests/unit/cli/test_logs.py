"""Unit tests for fishshop.logs: a message from a server cannot forge a log line."""

from __future__ import annotations

import logging

from fishshop.logs import FORMAT, OneLineFormatter, one_line


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("fishshop_operator", logging.WARNING, __file__, 1, message, args, None)


def test_a_newline_from_a_server_stays_in_its_line() -> None:
    said = "refused\n2026-12-03 12:00:00 INFO fishshop_operator action=delete shop=other/shop"
    line = OneLineFormatter(FORMAT).format(_record("action=connect error=%s", said))
    assert "\n" not in line
    assert line.endswith(
        "error=refused\\n2026-12-03 12:00:00 INFO fishshop_operator action=delete shop=other/shop"
    )


def test_terminal_escapes_are_written_out() -> None:
    assert one_line("red \x1b[31m\r\t") == "red \\x1b[31m\\r\\t"


def test_printable_text_is_left_as_it_is() -> None:
    assert one_line("connector fishshop.sea.harbour.analyst runs 1 task") == (
        "connector fishshop.sea.harbour.analyst runs 1 task"
    )


def test_a_traceback_still_follows_on_its_own_lines() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "fishshop", logging.ERROR, __file__, 1, "failed:\n%s", ("x",), sys.exc_info()
        )
    text = OneLineFormatter(FORMAT).format(record)
    first, *rest = text.splitlines()
    assert first.endswith("failed:\\nx")
    assert rest[0] == "Traceback (most recent call last):"
