"""A shop's analyst as its spec asks for it, and the PostgreSQL its Secret names. Pure.

``spec.analyst`` names a Kafka Connect cluster (its REST URL) and a Secret in the
shop's namespace whose key ``url`` is the PostgreSQL the sink writes to. Absent,
the shop has no analyst. The CRD refuses a bad section with the same words; the
operator checks again because a CRD can be older than the operator, and both the
URL and the Secret's name end up in requests the operator sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fishshop_operator.kube.secret_data import SecretError, decode_value
from fishshop_workers.analyst.database import DatabaseAddress, DatabaseAddressError
from fishshop_workers.shop.spec import ShopSpecError

__all__ = [
    "CONNECT_URL",
    "CONNECT_URL_MESSAGE",
    "MAX_TASKS",
    "POSTGRES_CREDENTIALS_NAME_MESSAGE",
    "URL_KEY",
    "AnalystSpec",
    "PostgresSecretError",
    "check_connect_url",
    "read_analyst",
    "read_postgres_secret",
]

SECTION = "spec.analyst"
MAX_TASKS = 8
URL_KEY = "url"
MAX_URL_BYTES = 4 * 1024
"""A PostgreSQL URL is a line; more than this is the wrong file."""

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SECRET_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
CONNECT_URL = re.compile(
    rf"https?://([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:{_PORT})?"
    r"(/[A-Za-z0-9._~-]+)*/?"
)
"""A host (never user:password@), an optional port and path; no query, no fragment:
the operator adds ``/connectors/...`` to it."""

CONNECT_URL_MESSAGE = (
    "connectUrl must be the http:// or https:// URL of a Kafka Connect REST API: a host, "
    "optionally :PORT (1 to 65535) and a path, for example http://connect.kafka.svc:8083; "
    "no user or password, query or fragment in it"
)
POSTGRES_CREDENTIALS_NAME_MESSAGE = (
    "postgresSecret must be the name of a Secret in the shop's own namespace: lowercase "
    "letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 "
    "characters"
)


class PostgresSecretError(SecretError):
    """The PostgreSQL Secret is missing or unusable; the message says what to fix."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class AnalystSpec:
    """Where the shop's sink connector runs and where it writes."""

    connect_url: str
    """The Connect REST API, without a trailing slash."""
    postgres_secret: str
    """A Secret in the shop's namespace whose ``url`` is the PostgreSQL to write to."""
    tasks: int = 1


def check_connect_url(url: str, where: str = f"{SECTION}.connectUrl") -> str:
    """The URL without a trailing slash. Credentials, a query or a fragment are refused,
    and the refusal never quotes the URL back (it might hold a password)."""
    if len(url) > 1024 or not CONNECT_URL.fullmatch(url):
        raise ShopSpecError(f"{where}: {CONNECT_URL_MESSAGE}")
    return url.rstrip("/")


def read_analyst(spec: Mapping[str, Any]) -> AnalystSpec | None:
    """The analyst ``spec`` asks for, None when it asks for none; raises ShopSpecError."""
    section = spec.get("analyst")
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise ShopSpecError(f"{SECTION} must be a mapping with connectUrl and postgresSecret")
    url = section.get("connectUrl")
    if not isinstance(url, str) or not url:
        raise ShopSpecError(f"{SECTION}.connectUrl is required: the Kafka Connect REST API")
    connect_url = check_connect_url(url)
    secret = section.get("postgresSecret")
    if not isinstance(secret, str) or not secret:
        raise ShopSpecError(
            f"{SECTION}.postgresSecret is required: a Secret whose key {URL_KEY} is "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    if len(secret) > 253 or not SECRET_NAME.fullmatch(secret):
        raise ShopSpecError(
            f"{SECTION}.postgresSecret {secret!r}: {POSTGRES_CREDENTIALS_NAME_MESSAGE}"
        )
    tasks = section.get("tasks", 1)
    if isinstance(tasks, bool) or not isinstance(tasks, int) or not 1 <= tasks <= MAX_TASKS:
        raise ShopSpecError(
            f"{SECTION}.tasks must be a whole number from 1 to {MAX_TASKS}, not {tasks!r}"
        )
    return AnalystSpec(connect_url, secret, tasks)


def read_postgres_secret(secret: dict[str, Any] | None, where: str) -> DatabaseAddress:
    """The PostgreSQL a Secret (as the API returns it) names; ``where`` is namespace/name."""
    if secret is None:
        raise PostgresSecretError(
            f"Secret {where} named by {SECTION}.postgresSecret does not exist in the "
            "shop's namespace",
            missing=True,
        )
    data = secret.get("data") or {}
    value = data.get(URL_KEY) if isinstance(data, dict) else None
    if not isinstance(value, str):
        raise PostgresSecretError(
            f"Secret {where} has no {URL_KEY}; it needs {URL_KEY}: "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    unreadable = "is not base64 UTF-8 text"
    raw = decode_value(
        value,
        where=where,
        key=URL_KEY,
        limit=MAX_URL_BYTES,
        too_large="is longer than a PostgreSQL URL",
        error=PostgresSecretError,
        invalid=unreadable,
    )
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PostgresSecretError(f"Secret {where}: {URL_KEY} {unreadable}") from None
    try:
        address = DatabaseAddress.from_url(text)
    except DatabaseAddressError as error:  # its words never hold the password
        raise PostgresSecretError(f"Secret {where}: {URL_KEY}: {error}") from None
    return address
