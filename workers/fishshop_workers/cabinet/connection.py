"""How a worker reaches the Redis that holds the hot cabinet."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fishshop_workers.cabinet.decisions import CabinetSettingsError
from fishshop_workers.shop.secret_file import SecretFileError, read_secret_file

__all__ = ["SCHEMES", "CabinetConnection"]

SCHEMES = ("redis", "rediss")
"""``rediss://`` is Redis over TLS."""


@dataclass(frozen=True, repr=False)
class CabinetConnection:
    """Connection settings for the cabinet's Redis.

    The password comes from ``password``, from ``password_file`` (a mounted Secret,
    read when the client is made: a worker picks up a rotated password when it
    restarts) or from the URL itself; it never shows in ``repr`` or in ``where``.
    """

    url: str
    """``redis://HOST:PORT/DB``, or ``rediss://...`` for TLS."""
    username: str | None = None
    """The ACL user (a shop's own on a shared Redis); None: Redis's default user."""
    password: str | None = field(default=None, repr=False)
    password_file: Path | None = None
    tls_ca_file: Path | None = None
    """The CA that signed the server's certificate, when the system's do not."""
    timeout_seconds: float = 5.0
    """How long one connect or command may take before Redis counts as unavailable."""

    def __post_init__(self) -> None:
        try:
            parts = urlsplit(self.url)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as error:
            raise CabinetSettingsError(f"Redis URL {self.where!r} is not a URL: {error}") from None
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise CabinetSettingsError(
                f"Redis URL {self.where!r} must look like redis://HOST:PORT "
                "(or rediss://HOST:PORT for TLS)"
            )
        if self.username is not None and (
            not 0 < len(self.username) <= 256
            or not self.username.isprintable()
            or any(c.isspace() for c in self.username)
        ):
            raise CabinetSettingsError(
                "a Redis user name is 1 to 256 printable characters without spaces"
            )
        if self.username is not None and parts.username:
            raise CabinetSettingsError(
                f"the Redis URL names user {parts.username!r} and user {self.username!r} is "
                "given too: give one"
            )
        if self.password is not None and self.password_file is not None:
            raise CabinetSettingsError("give the Redis password or a file that holds it, not both")
        if self.tls_ca_file is not None and parts.scheme != "rediss":
            raise CabinetSettingsError(
                f"a CA file is for TLS: use rediss:// instead of {parts.scheme}:// "
                f"to reach {self.where}"
            )
        if not self.timeout_seconds > 0:
            raise CabinetSettingsError(
                f"the Redis timeout must be above 0 seconds, not {self.timeout_seconds!r}"
            )

    @property
    def where(self) -> str:
        """The URL without its password, for messages and logs."""
        try:
            parts = urlsplit(self.url)
            host = parts.netloc.rpartition("@")[2]
            user = parts.username
        except ValueError:
            return "(an unreadable URL)"
        user = self.username or user
        netloc = f"{user}@{host}" if user else host
        return parts._replace(netloc=netloc).geturl()

    def __repr__(self) -> str:
        secret = self.password is not None or self.password_file is not None
        return (
            f"CabinetConnection(url={self.where!r}, username={self.username!r}, "
            f"password={'***' if secret else None!r}, "
            f"password_file={self.password_file!r}, tls_ca_file={self.tls_ca_file!r}, "
            f"timeout_seconds={self.timeout_seconds!r})"
        )

    def read_password(self) -> str | None:
        """The password to send, read from the file when one is given."""
        if self.password_file is None:
            return self.password
        try:
            return read_secret_file(
                self.password_file,
                "Redis password file",
                "--redis-password-file (or FISHSHOP_REDIS_PASSWORD_FILE)",
            )
        except SecretFileError as error:
            raise CabinetSettingsError(str(error)) from None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for the Redis client's ``from_url``, besides the URL."""
        options: dict[str, Any] = {
            "socket_timeout": self.timeout_seconds,
            "socket_connect_timeout": self.timeout_seconds,
            # No CLIENT SETINFO on connecting: a shop's ACL user may not send it, and
            # Redis 7.2+ would log each refusal in its ACL LOG.
            "driver_info": None,
        }
        if self.username is not None:
            options["username"] = self.username
        password = self.read_password()
        if password is not None:
            options["password"] = password
        if self.tls_ca_file is not None:
            options["ssl_ca_certs"] = str(self.tls_ca_file)
        return options
