"""TLS material for the operator's own connections, held in memory, never on disk.

The CA goes to ``ssl`` from memory; the client certificate and key through anonymous
in-memory files (``memfd``) where Linux has them, else a private scratch folder for
the moment OpenSSL reads them. Why: docs/design/operator.md, "kafka/tls.py".
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fishshop_operator.kube.secret_data import SecretError, decode_value
from fishshop_workers.kafka.settings import CA_FILE, CERT_FILE, KEY_FILE

__all__ = [
    "MAX_TLS_FILE_BYTES",
    "TLSMaterial",
    "TLSSecretError",
    "build_ssl_context",
    "load_client_chain",
    "read_tls_secret",
]

MAX_TLS_FILE_BYTES = 64 * 1024
"""A certificate chain or key is a few KiB; more than this is not TLS material."""


class TLSSecretError(SecretError):
    """The shop's TLS Secret is missing or unusable; the message says what to fix."""

    reason = "TLSSecretInvalid"


@dataclass(frozen=True)
class TLSMaterial:
    """PEM text of a CA and, for mutual TLS, a client certificate and its key."""

    source: str
    """Where it came from (namespace/name of the Secret), for messages."""
    ca: bytes = field(repr=False)
    cert: bytes | None = field(default=None, repr=False)
    key: bytes | None = field(default=None, repr=False)


def read_tls_secret(secret: dict[str, Any] | None, where: str) -> TLSMaterial:
    """The material of a Secret (as the API returns it); ``where`` is namespace/name."""
    if secret is None:
        raise TLSSecretError(
            f"Secret {where} named by spec.kafka.tlsSecret does not exist in the shop's namespace"
        )
    data = secret.get("data") or {}
    if not isinstance(data, dict) or CA_FILE not in data:
        raise TLSSecretError(
            f"Secret {where} has no {CA_FILE}; it needs {CA_FILE}, and {CERT_FILE} with "
            f"{KEY_FILE} for mutual TLS"
        )
    too_large = (
        f"is larger than {MAX_TLS_FILE_BYTES // 1024} KiB; a certificate or key is a few KiB"
    )
    files = {
        name: decode_value(
            data[name],
            where=where,
            key=name,
            limit=MAX_TLS_FILE_BYTES,
            too_large=too_large,
            error=TLSSecretError,
        )
        for name in (CA_FILE, CERT_FILE, KEY_FILE)
        if name in data
    }
    if (CERT_FILE in files) != (KEY_FILE in files):
        raise TLSSecretError(
            f"Secret {where} holds only one of {CERT_FILE} and {KEY_FILE}: a client "
            "certificate needs both"
        )
    return TLSMaterial(where, files[CA_FILE], files.get(CERT_FILE), files.get(KEY_FILE))


def build_ssl_context(material: TLSMaterial, scratch: Path | None = None) -> ssl.SSLContext:
    """An SSL context from ``material``; raises TLSSecretError if it is not usable.

    ``scratch`` is used only where in-memory files are missing, and left as it was.
    """
    try:
        context = ssl.create_default_context(cadata=material.ca.decode("ascii"))
        if material.cert is not None and material.key is not None:
            load_client_chain(context, material.cert, material.key, scratch)
    except (ssl.SSLError, ValueError) as error:
        raise TLSSecretError(
            f"Secret {material.source} does not hold a usable certificate or key: {error}"
        ) from error
    return context


def load_client_chain(
    context: ssl.SSLContext, cert: bytes, key: bytes, scratch: Path | None = None
) -> None:
    """``context.load_cert_chain`` from PEM bytes, leaving no file behind."""
    with _files(cert, key, scratch or Path(tempfile.gettempdir())) as (cert_path, key_path):
        # An encrypted key fails here instead of prompting on the terminal.
        context.load_cert_chain(cert_path, key_path, password=_no_password)


def _no_password() -> bytes:
    raise ValueError("the key is encrypted; the Secret must hold an unencrypted key")


def in_memory_files() -> bool:
    return hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


@contextlib.contextmanager
def _files(cert: bytes, key: bytes, scratch: Path) -> Iterator[tuple[str, str]]:
    """Paths OpenSSL can read ``cert`` and ``key`` from, valid inside the block only."""
    if in_memory_files():
        descriptors: list[int] = []
        try:
            for data in (cert, key):
                descriptor = os.memfd_create("fishshop-tls", os.MFD_CLOEXEC)
                descriptors.append(descriptor)
                _write_all(descriptor, data)
            yield f"/proc/self/fd/{descriptors[0]}", f"/proc/self/fd/{descriptors[1]}"
        finally:
            for descriptor in descriptors:
                os.close(descriptor)
        return
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="tls-") as folder:
        paths = []
        for name, data in ((CERT_FILE, cert), (KEY_FILE, key)):
            path = os.path.join(folder, name)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(descriptor, data)
            finally:
                os.close(descriptor)
            paths.append(path)
        yield paths[0], paths[1]


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]
