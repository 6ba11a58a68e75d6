"""Unit tests for fishshop_operator.kafka.tls: a shop's Secret read with a size bound, and
an SSL context built from it without leaving a file anywhere."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fishshop_operator.kafka import tls
from fishshop_operator.kafka.tls import (
    LAYOUTS,
    MAX_TLS_FILE_BYTES,
    TLSMaterial,
    TLSSecretError,
    build_ssl_context,
    read_ca_secret,
    read_tls_secret,
)
from fishshop_operator.kafka.topics import ShopKafkaSettings
from tests.support.certs import make_certificates

WHERE = "seaside/kafka-tls"


def _secret(**files: Any) -> dict[str, Any]:
    data = {
        name.replace("_", "."): base64.b64encode(v).decode() if isinstance(v, bytes) else v
        for name, v in files.items()
    }
    return {"metadata": {"name": "kafka-tls"}, "data": data}


@pytest.fixture(scope="module")
def client_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, client = make_certificates(tmp_path_factory.mktemp("certs"))
    return client


def _material(client: Path) -> TLSMaterial:
    return TLSMaterial(
        WHERE,
        (client / "ca.pem").read_bytes(),
        (client / "service.cert").read_bytes(),
        (client / "service.key").read_bytes(),
    )


def test_reads_the_three_files() -> None:
    material = read_tls_secret(
        _secret(ca_pem=b"ca", service_cert=b"cert", service_key=b"key"), WHERE
    )
    assert (material.ca, material.cert, material.key) == (b"ca", b"cert", b"key")


def test_a_ca_alone_is_plain_tls() -> None:
    material = read_tls_secret(_secret(ca_pem=b"ca"), WHERE)
    assert (material.cert, material.key) == (None, None)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "Secret seaside/kafka-tls named by spec.kafka.tlsSecret does not exist"),
        (_secret(), "Secret seaside/kafka-tls has keys none, in no layout known"),
        (
            _secret(client_crt=b"c", client_key=b"k"),
            "has keys client.crt, client.key, in no layout known: a CA, and a client "
            "certificate with its key for mutual TLS \\(or the certificate and key alone, "
            "to trust the system's authorities\\), as ca.pem, service.cert, service.key "
            r"\(fishshop\); ca.crt, user.crt, user.key \(Strimzi\); ca.crt, tls.crt, "
            r"tls.key \(cert-manager\)",
        ),
        (_secret(ca_pem=b"ca", service_cert=b"c"), "holds only one of service.cert and"),
        (_secret(ca_pem=b"ca", service_key=b"k"), "holds only one of service.cert and"),
        (_secret(ca_pem="not base64!"), "ca.pem is not valid base64"),
        (_secret(ca_pem=7), "ca.pem is not base64 text"),
    ],
)
def test_unusable_secrets_say_what_to_fix(secret: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(TLSSecretError, match=message):
        read_tls_secret(secret, WHERE)


@pytest.mark.parametrize("name", ["ca_pem", "service_cert", "service_key"])
@pytest.mark.parametrize("size", [MAX_TLS_FILE_BYTES + 1, MAX_TLS_FILE_BYTES + 2, 1024 * 1024])
def test_files_over_the_bound_are_refused(name: str, size: int) -> None:
    files = {"ca_pem": b"ca", "service_cert": b"c", "service_key": b"k", name: b"x" * size}
    with pytest.raises(TLSSecretError) as refused:
        read_tls_secret(_secret(**files), WHERE)
    assert (
        str(refused.value)
        == (
            f"Secret {WHERE}: {name.replace('_', '.')} is larger than 64 KiB; "
            "a certificate or key is a few KiB"
        )
        or str(refused.value) == f"Secret {WHERE}: {name.replace('_', '.')} is larger than 64 KiB"
    )


def test_a_file_of_exactly_the_bound_is_read() -> None:
    material = read_tls_secret(_secret(ca_pem=b"x" * MAX_TLS_FILE_BYTES), WHERE)
    assert len(material.ca) == MAX_TLS_FILE_BYTES


def test_material_never_shows_in_a_repr() -> None:
    text = repr(TLSMaterial(WHERE, b"CA-TEXT", b"CERT-TEXT", b"KEY-TEXT"))
    assert "TEXT" not in text
    assert WHERE in text


@pytest.mark.parametrize("in_memory", [True, False], ids=["memfd", "scratch-files"])
def test_a_context_from_memory_leaves_the_scratch_folder_as_it_was(
    client_certs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: bool
) -> None:
    if in_memory and not tls.in_memory_files():
        pytest.skip("this system has no memfd_create or /proc/self/fd")
    monkeypatch.setattr(tls, "in_memory_files", lambda: in_memory)
    context = build_ssl_context(_material(client_certs), tmp_path)
    assert context.verify_mode.name == "CERT_REQUIRED"
    assert list(tmp_path.iterdir()) == []


def test_an_encrypted_key_is_refused_instead_of_prompting(
    client_certs: Path, tmp_path: Path
) -> None:
    encrypted = tmp_path / "encrypted.key"
    subprocess.run(
        ["openssl", "pkey", "-in", str(client_certs / "service.key"), "-aes256",
         "-passout", "pass:secret", "-out", str(encrypted)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    material = TLSMaterial(
        WHERE, _material(client_certs).ca, _material(client_certs).cert, encrypted.read_bytes()
    )
    with pytest.raises(TLSSecretError, match="the key is encrypted"):
        build_ssl_context(material, tmp_path)


@pytest.mark.parametrize("case", ["garbage-ca", "garbage-pair", "swapped-pair", "foreign-key"])
def test_material_that_is_not_a_usable_pair_is_refused(
    client_certs: Path, tmp_path: Path, case: str
) -> None:
    good = _material(client_certs)
    material = {
        "garbage-ca": TLSMaterial(WHERE, b"garbage"),
        "garbage-pair": TLSMaterial(WHERE, good.ca, b"garbage", b"garbage"),
        "swapped-pair": TLSMaterial(WHERE, good.ca, good.key, good.cert),
        "foreign-key": TLSMaterial(WHERE, good.ca, good.cert, _other_key(tmp_path)),
    }[case]
    with pytest.raises(TLSSecretError, match=f"Secret {WHERE} does not hold a usable"):
        build_ssl_context(material, tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists() or list((tmp_path / "scratch").iterdir()) == []


def _other_key(folder: Path) -> bytes:
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", str(folder / "other.key")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return (folder / "other.key").read_bytes()


def test_shop_settings_carry_the_context_and_hide_it(client_certs: Path, tmp_path: Path) -> None:
    context = build_ssl_context(_material(client_certs), tmp_path)
    settings = ShopKafkaSettings("k:9093", tls_context=context)
    assert settings.security_protocol == "SSL"
    options = settings.client_options()
    assert options["ssl_context"] is context
    assert options["security_protocol"] == "SSL"
    assert "SSLContext" not in repr(settings)
    plain = ShopKafkaSettings("k:9092")
    assert plain.security_protocol == "PLAINTEXT"
    assert "ssl_context" not in plain.client_options()


@pytest.mark.parametrize(
    ("keys", "layout"),
    [
        ({"ca_pem": b"a", "service_cert": b"c", "service_key": b"k"}, "fishshop"),
        ({"ca_pem": b"a"}, "fishshop"),
        ({"ca_crt": b"a", "user_crt": b"c", "user_key": b"k", "user_p12": b"p"}, "Strimzi"),
        ({"ca_crt": b"a", "ca_p12": b"p", "ca_password": b"pw"}, "Strimzi"),  # cluster CA
        ({"ca_crt": b"a", "tls_crt": b"c", "tls_key": b"k"}, "cert-manager"),
    ],
)
def test_each_layout_is_known_by_its_keys(keys: dict[str, bytes], layout: str) -> None:
    material = read_tls_secret(_secret(**keys), WHERE)
    assert material.layout.name == layout
    assert material.ca == b"a"
    if len(keys) >= 3 and "ca_p12" not in keys:
        assert (material.cert, material.key) == (b"c", b"k")


def test_a_layouts_files_are_mounted_under_the_workers_names() -> None:
    fishshop, strimzi, manager = LAYOUTS
    assert fishshop.pod_files() == ()
    assert strimzi.pod_files() == (
        ("ca.crt", "ca.pem"),
        ("user.crt", "service.cert"),
        ("user.key", "service.key"),
    )
    assert manager.pod_files()[1:] == (("tls.crt", "service.cert"), ("tls.key", "service.key"))


def test_a_half_client_certificate_names_the_layouts_keys() -> None:
    with pytest.raises(TLSSecretError, match=r"holds only one of tls\.crt and tls\.key"):
        read_tls_secret(_secret(ca_crt=b"a", tls_crt=b"c"), WHERE)


@pytest.mark.parametrize(
    ("keys", "layout", "files"),
    [
        (
            {"service_cert": b"c", "service_key": b"k"},
            "fishshop",
            (("service.cert", "service.cert"), ("service.key", "service.key")),
        ),
        (
            {"tls_crt": b"c", "tls_key": b"k"},
            "cert-manager",
            (("tls.crt", "service.cert"), ("tls.key", "service.key")),
        ),
    ],
)
def test_a_client_certificate_without_a_ca_trusts_the_systems_authorities(
    keys: dict[str, bytes], layout: str, files: tuple[tuple[str, str], ...]
) -> None:
    material = read_tls_secret(_secret(**keys), WHERE)
    assert (material.layout.name, material.ca, material.cert) == (layout, None, b"c")
    assert material.layout.pod_files(client=True, ca=False) == files


@pytest.mark.parametrize(
    ("keys", "key"), [({"ca_crt": b"a", "ca_p12": b"p"}, "ca.crt"), ({"ca_pem": b"a"}, "ca.pem")]
)
def test_a_ca_secret_gives_its_ca(keys: dict[str, bytes], key: str) -> None:
    ca = read_ca_secret(_secret(**keys), WHERE)
    assert (ca.key, ca.ca) == (key, b"a")


def test_a_ca_secret_without_a_ca_says_what_it_needs() -> None:
    with pytest.raises(TLSSecretError, match=r"caSecret has no ca\.crt or ca\.pem"):
        read_ca_secret(_secret(user_crt=b"c"), WHERE)
    with pytest.raises(TLSSecretError, match=r"spec\.kafka\.caSecret does not exist"):
        read_ca_secret(None, WHERE)
