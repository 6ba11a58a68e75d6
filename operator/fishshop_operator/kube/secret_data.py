"""The one decoder of a Secret's base64 values, with a size bound; a Secret as held. Pure.

Behind the Kafka TLS, Redis credentials and PostgreSQL Secrets. A Secret may hold up
to 1 MiB; what a shop's Secret should hold is a few KiB at most, so a value is
measured before it is decoded, and again after.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fishshop_workers.errors import InputError

__all__ = ["HeldSecret", "SecretError", "decode_value", "encoded_length", "password_text"]


class SecretError(InputError, RuntimeError):
    """A Secret a shop names is missing or unusable; the message says what to fix."""


@dataclass
class HeldSecret:
    """A Secret as last read for one use: which one, its version, what it decoded to."""

    name: str
    version: tuple[str, ...]
    """Its uid and resourceVersion: a new version is decoded again."""
    value: Any = field(repr=False)
    """What it decoded to (a TLS context, credentials, an address): never shown."""
    read_at: float
    """When it was last read (the cache's clock)."""


def encoded_length(limit: int) -> int:
    """The longest base64 text that can hold ``limit`` bytes."""
    return (limit + 2) // 3 * 4


def decode_value(
    value: object,
    *,
    where: str,
    key: str,
    limit: int,
    too_large: str,
    error: Callable[[str], SecretError] = SecretError,
    invalid: str = "is not valid base64",
) -> bytes:
    """The bytes of ``value``, the entry ``key`` of Secret ``where`` (namespace/name).

    Raises ``error("Secret <where>: <key> <what is wrong>")``: ``too_large`` says what
    more than ``limit`` bytes cannot be, ``invalid`` what text that is not base64 is.
    """
    if not isinstance(value, str):
        raise error(f"Secret {where}: {key} is not base64 text")
    if len(value) > encoded_length(limit):  # before decoding: a Secret may hold 1 MiB
        raise error(f"Secret {where}: {key} {too_large}")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as cause:
        raise error(f"Secret {where}: {key} {invalid}") from cause
    if len(raw) > limit:  # the last group of four may hold two bytes more
        raise error(f"Secret {where}: {key} {too_large}")
    return raw


def password_text(
    raw: bytes, *, where: str, key: str, error: Callable[[str], SecretError] = SecretError
) -> str:
    """A password from a Secret's bytes: UTF-8, not empty, and without one trailing
    newline (an editor's or echo's, not the password's: the workers' password files
    follow the same rule)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"Secret {where}: {key} is not UTF-8 text") from None
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            text = text[: -len(ending)]
            break
    if not text:
        raise error(f"Secret {where}: {key} is empty")
    return text
