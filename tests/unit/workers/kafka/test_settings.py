"""Unit tests for fishshop_workers.kafka.settings: address, TLS and SASL checks."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from fishshop_workers.kafka.settings import (
    SASL_MECHANISMS,
    KafkaSettings,
    KafkaSettingsError,
    read_sasl_password,
)
from fishshop_workers.roles.options import WorkerOptions

PASSWORD = "s3cret-chips-PA55"


def _certs(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).write_text("not really a certificate\n")
    return tmp_path


@pytest.mark.parametrize(
    ("tls", "sasl", "protocol"),
    [
        (False, None, "PLAINTEXT"),
        (True, None, "SSL"),
        (False, "PLAIN", "SASL_PLAINTEXT"),
        (True, "SCRAM-SHA-512", "SASL_SSL"),
        (False, "", "PLAINTEXT"),
    ],
)
def test_security_protocol(tmp_path: Path, tls: bool, sasl: str | None, protocol: str) -> None:
    settings = KafkaSettings("kafka:9092", certs_dir=tmp_path if tls else None, sasl_mechanism=sasl)
    assert settings.security_protocol == protocol


@pytest.mark.parametrize("bootstrap", ["", "   ", "\t\n"])
def test_check_needs_a_bootstrap_address(bootstrap: str) -> None:
    with pytest.raises(KafkaSettingsError, match=r"no Kafka address.*--bootstrap-servers"):
        KafkaSettings(bootstrap).check()


def test_plaintext_settings_pass() -> None:
    KafkaSettings("localhost:9092").check()


@pytest.mark.parametrize("mechanism", SASL_MECHANISMS)
def test_known_sasl_mechanisms_pass(mechanism: str) -> None:
    KafkaSettings("k:9092", None, mechanism, "user", "secret").check()


@pytest.mark.parametrize("mechanism", ["GSSAPI", "plain", "SCRAM-SHA-1", "OAUTHBEARER"])
def test_unknown_sasl_mechanism(mechanism: str) -> None:
    with pytest.raises(KafkaSettingsError) as caught:
        KafkaSettings("k:9092", None, mechanism, "user", "secret").check()
    message = str(caught.value)
    assert repr(mechanism) in message
    for known in SASL_MECHANISMS:
        assert known in message


@pytest.mark.parametrize(
    ("username", "password"),
    [("user", None), (None, "secret"), ("", "secret"), (None, None)],
)
def test_sasl_needs_username_and_password(username: str | None, password: str | None) -> None:
    settings = KafkaSettings("k:9092", None, "PLAIN", username, password)
    with pytest.raises(KafkaSettingsError) as caught:
        settings.check()
    message = str(caught.value)
    for way in ("--sasl-username", "--sasl-password-file", "FISHSHOP_SASL_PASSWORD"):
        assert way in message


def test_sasl_with_an_empty_password_is_allowed() -> None:
    KafkaSettings("k:9092", None, "PLAIN", "user", "").check()


def test_certs_dir_without_anything(tmp_path: Path) -> None:
    with pytest.raises(KafkaSettingsError) as caught:
        KafkaSettings("k:9093", certs_dir=tmp_path).check()
    assert str(tmp_path / "ca.pem") in str(caught.value)
    assert "not found" in str(caught.value)
    assert "or service.cert and service.key alone" in str(caught.value)


def test_a_client_certificate_without_a_ca_trusts_the_systems_authorities(
    tmp_path: Path,
) -> None:
    _certs(tmp_path, "service.cert", "service.key")
    settings = KafkaSettings("k:9093", certs_dir=tmp_path)
    settings.check()
    assert settings.security_protocol == "SSL"


def test_certs_dir_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(KafkaSettingsError, match=r"ca\.pem not found"):
        KafkaSettings("k:9093", certs_dir=tmp_path / "missing").check()


def test_ca_pem_that_is_a_folder_is_not_a_ca(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").mkdir()
    with pytest.raises(KafkaSettingsError, match=r"ca\.pem not found"):
        KafkaSettings("k:9093", certs_dir=tmp_path).check()


@pytest.mark.parametrize("only", ["service.cert", "service.key"])
def test_certs_dir_with_only_one_of_cert_and_key(tmp_path: Path, only: str) -> None:
    _certs(tmp_path, "ca.pem", only)
    with pytest.raises(KafkaSettingsError) as caught:
        KafkaSettings("k:9093", certs_dir=tmp_path).check()
    message = str(caught.value)
    assert str(tmp_path) in message
    assert "only one of service.cert and service.key" in message


@pytest.mark.parametrize("names", [("ca.pem",), ("ca.pem", "service.cert", "service.key")])
def test_certs_dir_with_ca_alone_or_with_both(tmp_path: Path, names: tuple[str, ...]) -> None:
    _certs(tmp_path, *names)
    settings = KafkaSettings("k:9093", certs_dir=tmp_path)
    settings.check()
    assert settings.security_protocol == "SSL"


def test_address_is_checked_before_certificates(tmp_path: Path) -> None:
    with pytest.raises(KafkaSettingsError, match="no Kafka address"):
        KafkaSettings("", certs_dir=tmp_path / "missing").check()


def test_client_options_plaintext() -> None:
    assert KafkaSettings("a:1,b:2").client_options() == {
        "bootstrap_servers": "a:1,b:2",
        "security_protocol": "PLAINTEXT",
    }
    assert KafkaSettings("a:1").ssl_context() is None


def test_client_options_sasl_without_tls() -> None:
    options = KafkaSettings("a:1", None, "SCRAM-SHA-256", "fish", "chips").client_options()
    assert options == {
        "bootstrap_servers": "a:1",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "fish",
        "sasl_plain_password": "chips",
    }


def test_client_options_checks_first() -> None:
    with pytest.raises(KafkaSettingsError, match="no Kafka address"):
        KafkaSettings("").client_options()


def test_repr_and_str_hide_the_password() -> None:
    settings = KafkaSettings("k:9092", None, "SCRAM-SHA-512", "fish", PASSWORD)
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        assert PASSWORD not in text
        assert "fish" in text  # the rest still shows, for debugging
    assert settings.sasl_password == PASSWORD
    assert settings.client_options()["sasl_plain_password"] == PASSWORD


def test_worker_options_repr_hides_the_password() -> None:
    kafka = KafkaSettings("k:9092", None, "PLAIN", "fish", PASSWORD)
    options = WorkerOptions("harbour", "fishshop.harbour", kafka, "till-1")
    assert PASSWORD not in repr(options)
    assert PASSWORD not in str(options)
    assert "harbour" in repr(options)


def test_settings_with_different_passwords_still_differ() -> None:
    """repr=False keeps the field in equality: a changed password is a change."""
    settings = KafkaSettings("k:9092", None, "PLAIN", "fish", PASSWORD)
    assert settings != replace(settings, sasl_password="other")


@pytest.mark.parametrize(
    ("content", "password"),
    [
        (PASSWORD, PASSWORD),
        (PASSWORD + "\n", PASSWORD),
        (PASSWORD + "\r\n", PASSWORD),
        (PASSWORD + "\n\n", PASSWORD + "\n"),
        (" spaced out \n", " spaced out "),
        ("", ""),
        ("\n", ""),
        ("fish & chips ünd plaice\n", "fish & chips ünd plaice"),
    ],
)
def test_read_sasl_password_drops_one_trailing_newline(
    tmp_path: Path, content: str, password: str
) -> None:
    path = tmp_path / "password"
    path.write_bytes(content.encode())
    assert read_sasl_password(path) == password


def test_read_sasl_password_from_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "password"
    with pytest.raises(KafkaSettingsError) as caught:
        read_sasl_password(missing)
    message = str(caught.value)
    assert str(missing) in message
    assert "not found" in message
    assert "--sasl-password-file" in message


def test_read_sasl_password_from_a_folder(tmp_path: Path) -> None:
    with pytest.raises(KafkaSettingsError, match="is a folder"):
        read_sasl_password(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file, so none is unreadable")
def test_read_sasl_password_from_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text(PASSWORD)
    path.chmod(0)
    try:
        with pytest.raises(KafkaSettingsError) as caught:
            read_sasl_password(path)
    finally:
        path.chmod(0o600)
    message = str(caught.value)
    assert "permission denied" in message
    assert str(path) in message
    assert PASSWORD not in message


def test_read_sasl_password_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_bytes(b"\xff\xfe-not-utf8")
    with pytest.raises(KafkaSettingsError) as caught:
        read_sasl_password(path)
    assert "not UTF-8" in str(caught.value)
    assert "not-utf8" not in str(caught.value)
