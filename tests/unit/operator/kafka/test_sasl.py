"""spec.kafka.sasl and its Secret: the checks the CRD makes, the user's name from the
spec, the Secret's username or the Secret's own name (Strimzi), a password with one
trailing newline dropped and never shown, and the security protocol it makes."""

from __future__ import annotations

import base64
import ssl
from typing import Any

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from fishshop_operator.kafka.sasl import (
    KafkaSaslSpec,
    SaslSecretError,
    read_sasl_secret,
    read_sasl_spec,
    sasl_identity,
)
from fishshop_operator.kafka.topics import _refusal, shop_settings
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.spec import ShopSpecError
from tests.support.operator_bodies import shop_resource

SPEC = KafkaSaslSpec("SCRAM-SHA-512", "kafka-user")


def _secret(name: str = "kafka-user", **data: bytes) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
    }


@pytest.mark.parametrize(
    ("sasl", "message"),
    [
        ("PLAIN", "must be an object"),
        ({"mechanism": "GSSAPI", "secret": "s"}, "'GSSAPI' is not one of PLAIN"),
        ({"mechanism": "PLAIN"}, "must name a Secret"),
        ({"mechanism": "PLAIN", "secret": "s", "username": "two words"}, "no spaces"),
    ],
)
def test_a_sasl_spec_the_crd_would_refuse_is_refused(sasl: Any, message: str) -> None:
    with pytest.raises(ShopSpecError, match=message):
        read_sasl_spec({"sasl": sasl})


def test_the_secret_name_is_checked_before_any_request() -> None:
    with pytest.raises(ShopSpecError):
        shop_resource(
            kafka={"bootstrapServers": "k:9092", "sasl": {"mechanism": "PLAIN", "secret": "../x"}}
        )


def test_no_sasl_is_none() -> None:
    assert read_sasl_spec({"bootstrapServers": "k:9092"}) is None


@pytest.mark.parametrize(
    ("spec_user", "data", "expected"),
    [
        ("", {"password": b"pw", "username": b"carol\n"}, "carol"),
        ("", {"password": b"pw"}, "kafka-user"),  # Strimzi: the Secret is the user's
        ("dave", {"password": b"pw", "username": b"carol"}, "dave"),
    ],
)
def test_the_users_name_comes_from_the_spec_the_secret_or_its_name(
    spec_user: str, data: dict[str, bytes], expected: str
) -> None:
    secret = read_sasl_secret(_secret(**data), "seaside/kafka-user")
    identity = sasl_identity(KafkaSaslSpec("PLAIN", "kafka-user", spec_user), secret)
    assert (identity.mechanism, identity.username, identity.password) == ("PLAIN", expected, "pw")
    assert "pw" not in repr(identity) and "pw" not in repr(secret)


def test_one_trailing_newline_is_not_the_password() -> None:
    secret = read_sasl_secret(_secret(password=b"s3cret\n"), "seaside/kafka-user")
    assert secret.password == "s3cret"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "does not exist in the shop's namespace"),
        (_secret(username=b"carol"), "has no password; it needs password"),
        (_secret(password=b""), "password is empty"),
        (_secret(password=b"x" * 5000), "larger than 4 KiB"),
        (_secret(password=b"\xff"), "not UTF-8"),
        (_secret(password=b"pw", username=b"two words"), "must be a user name"),
    ],
)
def test_an_unusable_secret_says_what_to_fix(secret: Any, message: str) -> None:
    with pytest.raises(SaslSecretError, match=message) as raised:
        read_sasl_secret(secret, "seaside/kafka-user")
    assert raised.value.reason == "SaslSecretInvalid"


@pytest.mark.parametrize(("tls", "protocol"), [(False, "SASL_PLAINTEXT"), (True, "SASL_SSL")])
def test_the_operator_logs_in_over_the_shops_protocol(tls: bool, protocol: str) -> None:
    shop = shop_resource(
        kafka={"bootstrapServers": "k:9092", "sasl": {"mechanism": "SCRAM-SHA-512", "secret": "u"}}
    )
    secret = read_sasl_secret(_secret("u", password=b"pw"), "seaside/u")
    context = ssl.create_default_context() if tls else None
    settings = shop_settings(shop, context, sasl_identity(SPEC, secret))
    assert settings.security_protocol == protocol
    options = settings.client_options()
    assert (options["sasl_mechanism"], options["sasl_plain_username"]) == ("SCRAM-SHA-512", "u")
    assert "pw" not in repr(settings)
    assert shop_settings(shop, None).security_protocol == "PLAINTEXT"


def test_a_refused_login_is_found_behind_what_wraps_it() -> None:
    settings = KafkaSettings(
        "k:9092", sasl_mechanism="PLAIN", sasl_username="carol", sasl_password="pw"
    )
    wrapped = KafkaConnectionError("Unable to bootstrap")
    wrapped.__cause__ = SaslAuthenticationFailed("Authentication failed")
    said = _refusal(wrapped, settings)
    assert said is not None and "PLAIN user 'carol': a wrong password or an unknown user" in said
    assert _refusal(KafkaConnectionError("Unable to bootstrap"), settings) is None
    offered = UnsupportedSaslMechanismError("not enabled")
    assert "does not offer SASL PLAIN" in (_refusal(offered, settings) or "")
    unverified = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert "could not be verified" in (_refusal(unverified, settings) or "")
