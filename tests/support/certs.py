"""Certificates for a TLS test: a CA, a broker certificate for 127.0.0.1 and a
client certificate, made with openssl, laid out as managed Kafka services hand
them out (ca.pem, service.cert, service.key)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path) -> tuple[Path, Path]:
    """Return (broker folder with broker.pem and ca.pem, client certs folder)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make test certificates")
    folder.mkdir(parents=True, exist_ok=True)
    days = "2"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        days,
        "-subj",
        "/CN=fishshop test CA",
        cwd=folder,
    )
    for name, extension in (
        ("broker", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            cwd=folder,
        )
        (folder / f"{name}.ext").write_text(extension + "\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.cert",
            "-days",
            days,
            "-extfile",
            f"{name}.ext",
            cwd=folder,
        )
    # Kafka reads a PEM key store: the unencrypted PKCS#8 key, then the chain.
    (folder / "broker.pem").write_text(
        (folder / "broker.key").read_text() + (folder / "broker.cert").read_text()
    )
    client = folder / "client-certs"
    client.mkdir(exist_ok=True)
    shutil.copy(folder / "ca.pem", client / "ca.pem")
    shutil.copy(folder / "client.cert", client / "service.cert")
    shutil.copy(folder / "client.key", client / "service.key")
    return folder, client
