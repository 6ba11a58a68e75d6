"""fishshop's own errors: one root, and what each kind means for whoever catches it.

Every error fishshop raises on purpose derives from ``FishshopError``. The class says
what the command line exits with (``exit_code``) and whether trying again later may
succeed (``retriable``), so callers decide by kind, never by a library's classes:
those are caught at the boundary where fishshop talks to the library and raised
again as one of these.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EXIT_ENVIRONMENT",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_CLEAN",
    "EXIT_USAGE",
    "FishshopError",
    "InputError",
    "ServiceError",
    "remote_text",
]

EXIT_NOT_CLEAN = 1
"""The command ran, and what it found is not clean (an order lost or served twice)."""
EXIT_USAGE = 2
"""The input was wrong: an option, a variable, a spec, a file."""
EXIT_ENVIRONMENT = 3
"""Something around fishshop failed: Kafka, Redis, PostgreSQL, Connect, Java, a port."""
EXIT_INTERRUPTED = 130
"""Stopped by a signal (Ctrl-C, SIGTERM, a closed terminal)."""


class FishshopError(Exception):
    """Root of fishshop's errors; the message says what went wrong and what to do."""

    exit_code: ClassVar[int] = EXIT_ENVIRONMENT
    retriable: bool = False
    """Trying again later, unchanged, may succeed (a server that was away)."""


class InputError(FishshopError):
    """What a person gave is wrong (an option, a variable, a spec, a file): trying
    again unchanged cannot help."""

    exit_code: ClassVar[int] = EXIT_USAGE


class ServiceError(FishshopError):
    """A server fishshop needs failed or refused: Kafka, Redis, PostgreSQL, Connect,
    the embedded servers' Java or binaries."""

    exit_code: ClassVar[int] = EXIT_ENVIRONMENT


REMOTE_TEXT_LIMIT = 200
"""Characters of a remote server's words that reach a status, an event or a log."""


def remote_text(text: object, limit: int = REMOTE_TEXT_LIMIT) -> str:
    """What a server outside fishshop said, safe to show: one line of printable
    characters (a newline cannot forge a log line), cut to ``limit`` with an ellipsis."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
