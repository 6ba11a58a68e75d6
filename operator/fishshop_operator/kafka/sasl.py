"""SASL to Kafka: ``spec.kafka.sasl`` and the Secret it names, read into memory. Pure.

The Secret holds the password under ``password`` (a Strimzi KafkaUser's Secret does);
the user's name is ``spec.kafka.sasl.username`` when given, else the Secret's
``username``, else the Secret's own name (a Strimzi KafkaUser's Secret is named after
the user). The operator uses the same identity for its own Kafka calls; the pods get
the password as a mounted file, never an environment variable or an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fishshop_operator.kube.secret_data import SecretError, decode_value, password_text
from fishshop_workers.kafka.settings import SASL_MECHANISMS
from fishshop_workers.shop.spec import ShopSpecError

__all__ = [
    "MAX_PASSWORD_BYTES",
    "PASSWORD_KEY",
    "USERNAME_KEY",
    "KafkaSasl",
    "KafkaSaslSpec",
    "SaslSecret",
    "SaslSecretError",
    "read_sasl_secret",
    "read_sasl_spec",
    "sasl_identity",
]

PASSWORD_KEY = "password"  # noqa: S105 - the key's name in the Secret, not a password
USERNAME_KEY = "username"
MAX_PASSWORD_BYTES = 4 * 1024
MAX_USERNAME_BYTES = 1024


class SaslSecretError(SecretError):
    """The SASL Secret is missing or unusable; the message says what to fix."""

    reason = "SaslSecretInvalid"


@dataclass(frozen=True)
class KafkaSaslSpec:
    """What ``spec.kafka.sasl`` asks for."""

    mechanism: str
    secret: str
    username: str = ""
    """Empty: the Secret's ``username``, else the Secret's name."""


@dataclass(frozen=True)
class SaslSecret:
    """What the Secret holds: the password, and the user's name as the Secret gives it
    (its ``username``, else its own name)."""

    source: str
    """namespace/name of the Secret, for messages."""
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class KafkaSasl:
    """A SASL identity, as the operator holds it."""

    source: str
    """namespace/name of the Secret, for messages."""
    mechanism: str
    username: str
    password: str = field(repr=False)


def read_sasl_spec(kafka: dict[str, Any]) -> KafkaSaslSpec | None:
    """``spec.kafka.sasl``, checked as the CRD checks it (for specs the API server did
    not check: an older CRD, a test); None without one."""
    sasl = kafka.get("sasl")
    if sasl is None:
        return None
    if not isinstance(sasl, dict):
        raise ShopSpecError("spec.kafka.sasl must be an object with mechanism and secret")
    mechanism = sasl.get("mechanism")
    if mechanism not in SASL_MECHANISMS:
        raise ShopSpecError(
            f"spec.kafka.sasl.mechanism {mechanism!r} is not one of " + ", ".join(SASL_MECHANISMS)
        )
    secret = sasl.get("secret")
    if not isinstance(secret, str) or not secret:
        raise ShopSpecError("spec.kafka.sasl.secret must name a Secret in the shop's namespace")
    username = sasl.get("username") or ""
    if not isinstance(username, str) or not _user_name(username, allow_empty=True):
        raise ShopSpecError("spec.kafka.sasl.username must be printable text with no spaces")
    return KafkaSaslSpec(str(mechanism), secret, username)


def _user_name(name: str, *, allow_empty: bool = False) -> bool:
    if not name:
        return allow_empty
    return (
        len(name) <= MAX_USERNAME_BYTES
        and name.isprintable()
        and not any(c.isspace() for c in name)
    )


def read_sasl_secret(secret: dict[str, Any] | None, where: str) -> SaslSecret:
    """What a Secret (as the API returns it) holds; ``where`` is namespace/name."""
    if secret is None:
        raise SaslSecretError(
            f"Secret {where} named by spec.kafka.sasl.secret does not exist in the shop's namespace"
        )
    data = secret.get("data") or {}
    if not isinstance(data, dict) or PASSWORD_KEY not in data:
        raise SaslSecretError(
            f"Secret {where} has no {PASSWORD_KEY}; it needs {PASSWORD_KEY} (the SASL "
            f"password), and {USERNAME_KEY} unless spec.kafka.sasl.username names the user "
            "or the Secret is named after the user (as Strimzi's KafkaUser Secrets are)"
        )
    raw = decode_value(
        data[PASSWORD_KEY],
        where=where,
        key=PASSWORD_KEY,
        limit=MAX_PASSWORD_BYTES,
        too_large=f"is larger than {MAX_PASSWORD_BYTES // 1024} KiB, which is not a password",
        error=SaslSecretError,
    )
    password = password_text(raw, where=where, key=PASSWORD_KEY, error=SaslSecretError)
    username = where.rsplit("/", 1)[-1]
    if USERNAME_KEY in data:
        raw_user = decode_value(
            data[USERNAME_KEY],
            where=where,
            key=USERNAME_KEY,
            limit=MAX_USERNAME_BYTES,
            too_large="is too long for a user name",
            error=SaslSecretError,
        )
        username = raw_user.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
        if "\ufffd" in username or not _user_name(username):
            raise SaslSecretError(
                f"Secret {where}: {USERNAME_KEY} must be a user name (printable, no spaces)"
            )
    return SaslSecret(where, username, password)


def sasl_identity(spec: KafkaSaslSpec, secret: SaslSecret) -> KafkaSasl:
    """The identity a shop uses: the spec's mechanism, the spec's user name when given,
    else the Secret's."""
    return KafkaSasl(
        secret.source, spec.mechanism, spec.username or secret.username, secret.password
    )
