"""Log lines that stay lines: every message on one line, whatever a server said.

A Connect, a Redis or a broker a tenant points the operator at can put newlines or
terminal escapes in an error message; logged as they are, they would forge log lines
of the operator's (another shop's, another action's). Control characters in a
message are written as escapes (``\\n``, ``\\x1b``); a traceback still follows on the
lines after, as Python writes it.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["FORMAT", "OneLineFormatter", "one_line", "start_logging"]

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def one_line(text: str) -> str:
    """``text`` with every control character written as its escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class OneLineFormatter(logging.Formatter):
    """A formatter whose message part is always one line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)


def start_logging(level: str) -> None:
    """Log to standard error at ``level``, one line per message."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
