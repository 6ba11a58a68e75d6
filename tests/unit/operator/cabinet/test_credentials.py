"""Unit tests for fishshop_operator.cabinet.credentials: the Redis credentials Secret,
read with a size bound into memory, meaning to the operator what it means to a worker."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from fishshop_operator.cabinet.credentials import (
    MAX_CA_BYTES,
    MAX_PASSWORD_BYTES,
    CredentialsSecretError,
    read_credentials_secret,
)
from fishshop_workers.cabinet.connection import CabinetConnection

WHERE = "seaside/redis-auth"


def _secret(**data: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "redis-auth", "namespace": "seaside"},
        "data": {
            key.replace("_", "."): base64.b64encode(v).decode() if isinstance(v, bytes) else v
            for key, v in data.items()
        },
    }


def test_a_password_alone() -> None:
    credentials = read_credentials_secret(_secret(password=b"s3cret"), WHERE)
    assert credentials.password == "s3cret"
    assert credentials.ca is None
    assert credentials.source == WHERE


def test_a_password_and_a_ca() -> None:
    credentials = read_credentials_secret(_secret(password=b"pw", ca_pem=b"-----BEGIN"), WHERE)
    assert credentials.ca == b"-----BEGIN"


def test_the_password_never_shows_in_repr() -> None:
    credentials = read_credentials_secret(_secret(password=b"s3cret", ca_pem=b"PEM"), WHERE)
    assert "s3cret" not in repr(credentials)
    assert "PEM" not in repr(credentials)


@pytest.mark.parametrize(
    "raw",
    [b"s3cret", b"s3cret\n", b"s3cret\r\n", b"s3cret\n\n", b" spaced out ", b"caf\xc3\xa9"],
)
def test_the_password_is_what_a_worker_reads_from_the_mounted_file(
    raw: bytes, tmp_path: Path
) -> None:
    """The operator pings with the password the workers will send, byte for byte."""
    path = tmp_path / "password"
    path.write_bytes(raw)
    worker = CabinetConnection("redis://r:6379", password_file=path).read_password()
    assert read_credentials_secret(_secret(password=raw), WHERE).password == worker


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (
            None,
            "Secret seaside/redis-auth named by spec.hotCabinet.credentialsSecret does not "
            "exist in the shop's namespace",
        ),
        (_secret(ca_pem=b"PEM"), "Secret seaside/redis-auth has no password"),
        ({"metadata": {}}, "Secret seaside/redis-auth has no password"),
        (_secret(password=b""), "Secret seaside/redis-auth: password is empty"),
        (_secret(password=b"\n"), "Secret seaside/redis-auth: password is empty"),
        (_secret(password=b"\xff\xfe"), "password is not UTF-8 text"),
        (_secret(password="not base64!"), "password is not valid base64"),
        (_secret(password=42), "password is not base64 text"),
        (_secret(password=b"pw", ca_pem="%%%"), "ca.pem is not valid base64"),
    ],
)
def test_unusable_secrets_say_what_to_fix(secret: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(CredentialsSecretError) as caught:
        read_credentials_secret(secret, WHERE)
    assert message in str(caught.value)


def test_sizes_are_bounded_before_decoding() -> None:
    read_credentials_secret(_secret(password=b"p" * MAX_PASSWORD_BYTES), WHERE)
    with pytest.raises(CredentialsSecretError, match="larger than 4 KiB"):
        read_credentials_secret(_secret(password=b"p" * (MAX_PASSWORD_BYTES + 1)), WHERE)
    with pytest.raises(CredentialsSecretError, match="larger than 64 KiB"):
        read_credentials_secret(_secret(password=b"p", ca_pem=b"c" * (MAX_CA_BYTES + 1)), WHERE)
    # A megabyte of base64 is refused on its length, never decoded.
    with pytest.raises(CredentialsSecretError, match="larger than 4 KiB"):
        read_credentials_secret(_secret(password="A" * 1024 * 1024), WHERE)


def test_a_username_names_the_shops_acl_user() -> None:
    secret = _secret(password=b"pw", username=b"fishshop.seaside.harbour\n")
    credentials = read_credentials_secret(secret, WHERE)
    assert credentials.username == "fishshop.seaside.harbour"
    assert read_credentials_secret(_secret(password=b"pw"), WHERE).username is None


@pytest.mark.parametrize("username", [b"", b"\n", b"two words", b"\x1b[31mred", b"\xffbad"])
def test_a_username_that_is_no_redis_user_is_the_secrets_fault(username: bytes) -> None:
    with pytest.raises(CredentialsSecretError, match="username must be a Redis user name"):
        read_credentials_secret(_secret(password=b"pw", username=username), WHERE)
