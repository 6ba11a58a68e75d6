"""Where the analyst's PostgreSQL is: one address read from a libpq URL, checked.

The same address serves psycopg (``libpq_url``) and the sink connector
(``jdbc_url`` with user and password apart, as the JDBC sink wants them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, unquote, urlsplit

from fishshop_workers.errors import InputError

__all__ = ["DatabaseAddress", "DatabaseAddressError"]

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")


#: libpq's sslmode values, which PostgreSQL's JDBC driver takes under the same name.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class DatabaseAddressError(InputError, ValueError):
    """A PostgreSQL URL that fishshop cannot use; the message says why."""


@dataclass(frozen=True)
class DatabaseAddress:
    host: str
    port: int
    database: str
    user: str
    password: str = field(default="", repr=False)
    sslmode: str = ""
    """TLS to PostgreSQL (``?sslmode=require``); empty: the clients' default."""

    @classmethod
    def from_url(cls, url: str) -> DatabaseAddress:
        """Read ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE``."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port or 5432
        except ValueError as error:
            raise DatabaseAddressError(f"not a PostgreSQL URL: {error}") from None
        if parts.scheme not in {"postgresql", "postgres"}:
            raise DatabaseAddressError(
                "a PostgreSQL URL starts with postgresql:// "
                "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
            )
        host = parts.hostname or ""
        database = unquote(parts.path.lstrip("/"))
        user = unquote(parts.username or "")
        if not _HOST.match(host):
            raise DatabaseAddressError(f"the URL's host {host!r} is not a host name or address")
        if not _NAME.match(database):
            raise DatabaseAddressError(
                f"the URL names database {database!r}: give one database name after the host"
            )
        if not 0 < len(user) <= 63 or not user.isprintable():
            raise DatabaseAddressError(
                "the URL needs a user (1 to 63 printable characters, percent-encoded "
                "where special): postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        options = parse_qs(parts.query, keep_blank_values=True)
        sslmode = (options.pop("sslmode", [""]) or [""])[-1]
        if options or parts.fragment:
            raise DatabaseAddressError(
                "the URL takes one option after the database name, sslmode "
                "(for example ?sslmode=verify-full); not "
                + ", ".join(sorted(options) or ["a #fragment"])
            )
        if sslmode and sslmode not in SSL_MODES:
            raise DatabaseAddressError(f"sslmode must be one of {', '.join(SSL_MODES)}")
        return cls(host, port, database, user, unquote(parts.password or ""), sslmode)

    @property
    def libpq_url(self) -> str:
        secret = f":{quote(self.password, safe='')}" if self.password else ""
        where = f"{self.host}:{self.port}/{self.database}"
        tls = f"?sslmode={self.sslmode}" if self.sslmode else ""
        return f"postgresql://{quote(self.user, safe='')}{secret}@{where}{tls}"

    @property
    def jdbc_url(self) -> str:
        """The sink's URL. ``stringtype=unspecified`` lets PostgreSQL read the
        record's ISO 8601 times into timestamptz columns itself."""
        url = f"jdbc:postgresql://{self.host}:{self.port}/{self.database}?stringtype=unspecified"
        return f"{url}&sslmode={self.sslmode}" if self.sslmode else url

    @property
    def shown(self) -> str:
        """The address without its password, for messages and logs."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"
