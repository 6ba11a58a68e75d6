"""The hot cabinet's Redis credentials, read from the shop's Secret into memory. Pure.

The Secret named by ``spec.hotCabinet.credentialsSecret`` holds ``password`` and,
for ``rediss://`` with a private CA, ``ca.pem``. The workers get it mounted; the
operator, which only pings Redis, reads it with a size bound and keeps it in memory
(like the Kafka TLS Secret), never on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fishshop_operator.kube.secret_data import SecretError, decode_value, password_text

__all__ = [
    "CA_KEY",
    "MAX_CA_BYTES",
    "MAX_PASSWORD_BYTES",
    "MAX_USERNAME_BYTES",
    "PASSWORD_KEY",
    "USERNAME_KEY",
    "CredentialsSecretError",
    "RedisCredentials",
    "read_credentials_secret",
]

PASSWORD_KEY = "password"  # noqa: S105 - the key's name in the Secret, not a password
USERNAME_KEY = "username"
"""Optional: the shop's Redis ACL user (docs/kubernetes.md, "Between tenants")."""
MAX_USERNAME_BYTES = 256
CA_KEY = "ca.pem"
MAX_PASSWORD_BYTES = 4 * 1024
"""Redis passwords are short; more than this is the wrong file."""
MAX_CA_BYTES = 64 * 1024
"""A CA chain is a few KiB, as for the Kafka TLS Secret."""


class CredentialsSecretError(SecretError):
    """The Redis credentials Secret is missing or unusable; the message says what to fix."""


@dataclass(frozen=True)
class RedisCredentials:
    """A password and, optionally, the CA that signed Redis's certificate (PEM)."""

    source: str
    """namespace/name of the Secret, for messages."""
    password: str = field(repr=False)
    ca: bytes | None = field(default=None, repr=False)
    username: str | None = None
    """The ACL user; None: Redis's default user."""


def _decode(where: str, key: str, value: object, limit: int) -> bytes:
    what = {PASSWORD_KEY: "Redis password", USERNAME_KEY: "Redis user name"}.get(
        key, "CA certificate"
    )
    return decode_value(
        value,
        where=where,
        key=key,
        limit=limit,
        too_large=f"is larger than {limit // 1024} KiB, which is not a {what}",
        error=CredentialsSecretError,
    )


def read_credentials_secret(secret: dict[str, Any] | None, where: str) -> RedisCredentials:
    """The credentials in a Secret (as the API returns it); ``where`` is namespace/name."""
    if secret is None:
        raise CredentialsSecretError(
            f"Secret {where} named by spec.hotCabinet.credentialsSecret does not exist in "
            "the shop's namespace"
        )
    data = secret.get("data") or {}
    if not isinstance(data, dict) or PASSWORD_KEY not in data:
        raise CredentialsSecretError(
            f"Secret {where} has no {PASSWORD_KEY}; it needs {PASSWORD_KEY} (Redis's "
            f"password), and {CA_KEY} when Redis's certificate is signed by a private CA"
        )
    raw = _decode(where, PASSWORD_KEY, data[PASSWORD_KEY], MAX_PASSWORD_BYTES)
    password = password_text(raw, where=where, key=PASSWORD_KEY, error=CredentialsSecretError)
    ca = _decode(where, CA_KEY, data[CA_KEY], MAX_CA_BYTES) if CA_KEY in data else None
    username = None
    if USERNAME_KEY in data:
        raw_user = _decode(where, USERNAME_KEY, data[USERNAME_KEY], MAX_USERNAME_BYTES)
        # The workers' rule: one trailing newline is an editor's or echo's.
        username = raw_user.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
        if (
            not username
            or "\ufffd" in username
            or not username.isprintable()
            or any(c.isspace() for c in username)
        ):
            raise CredentialsSecretError(
                f"Secret {where}: {USERNAME_KEY} must be a Redis user name (printable, "
                "no spaces), or be left out for Redis's default user"
            )
    return RedisCredentials(where, password, ca, username)
