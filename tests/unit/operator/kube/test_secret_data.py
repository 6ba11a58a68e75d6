"""Unit tests for fishshop_operator.kube.secret_data: the one decoder of a Secret's
values, which measures before it decodes and again after."""

from __future__ import annotations

import base64

import pytest

from fishshop_operator.kube.secret_data import SecretError, decode_value, encoded_length


def _decode(value: object, limit: int = 8) -> bytes:
    return decode_value(
        value, where="seaside/kafka-tls", key="ca.pem", limit=limit, too_large="is too large"
    )


def test_base64_text_within_the_limit_is_its_bytes() -> None:
    assert _decode(base64.b64encode(b"12345678").decode()) == b"12345678"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (42, "Secret seaside/kafka-tls: ca.pem is not base64 text"),
        ("not base64!", "Secret seaside/kafka-tls: ca.pem is not valid base64"),
        (base64.b64encode(b"x" * 64).decode(), "Secret seaside/kafka-tls: ca.pem is too large"),
        # Within the longest text for 8 bytes (12 characters), yet 9 bytes.
        (base64.b64encode(b"123456789").decode(), "Secret seaside/kafka-tls: ca.pem is too large"),
    ],
    ids=["not-text", "not-base64", "too-long-to-decode", "one-byte-over"],
)
def test_what_is_wrong_is_said_with_the_secret_and_key(value: object, message: str) -> None:
    with pytest.raises(SecretError) as raised:
        _decode(value)
    assert str(raised.value) == message


def test_the_callers_error_type_is_raised() -> None:
    class TLSProblem(SecretError):
        pass

    with pytest.raises(TLSProblem):
        decode_value(1, where="a/b", key="k", limit=1, too_large="x", error=TLSProblem)


def test_the_longest_text_for_a_limit() -> None:
    assert encoded_length(64 * 1024) == len(base64.b64encode(b"x" * 64 * 1024))
    assert encoded_length(1) == 4
