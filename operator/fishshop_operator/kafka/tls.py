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
    "LAYOUTS",
    "MAX_TLS_FILE_BYTES",
    "TLSLayout",
    "TLSMaterial",
    "TLSSecretError",
    "build_ssl_context",
    "load_client_chain",
    "read_ca_secret",
    "read_tls_secret",
]

MAX_TLS_FILE_BYTES = 64 * 1024
"""A certificate chain or key is a few KiB; more than this is not TLS material."""


@dataclass(frozen=True)
class TLSLayout:
    """Under which keys a Secret holds the CA, the client certificate and its key."""

    name: str
    ca: str
    cert: str
    key: str

    @property
    def keys(self) -> str:
        return f"{self.ca}, {self.cert}, {self.key}"

    def pod_files(self, client: bool = True, ca: bool = True) -> tuple[tuple[str, str], ...]:
        """Secret key -> the file the workers read (the talk's names), for a volume's
        items: the CA's when ``ca``, the client certificate's when ``client``; none for
        the talk's own layout with its CA (the whole Secret is mounted)."""
        if self.ca == CA_FILE and ca:
            return ()
        files = ((self.ca, CA_FILE),) if ca else ()
        return (*files, (self.cert, CERT_FILE), (self.key, KEY_FILE)) if client else files


LAYOUTS = (
    TLSLayout("fishshop", CA_FILE, CERT_FILE, KEY_FILE),
    TLSLayout("Strimzi", "ca.crt", "user.crt", "user.key"),
    TLSLayout("cert-manager", "ca.crt", "tls.crt", "tls.key"),
)
"""The layouts a tlsSecret may have: the talk's (Aiven's) names, a Strimzi KafkaUser's
(or its cluster CA's, ca.crt alone), cert-manager's."""


def tls_layout(keys: set[str]) -> TLSLayout | None:
    """The layout whose CA key the Secret has, and whose certificate or key it has if it
    has any client certificate at all; else the layout of a client certificate with no
    CA (the system's authorities then); None when none fits."""
    for layout in LAYOUTS:
        if layout.ca not in keys:
            continue
        if {layout.cert, layout.key} & keys:
            return layout
        if not any({other.cert, other.key} & keys for other in LAYOUTS):
            return layout  # a CA only
    return next((layout for layout in LAYOUTS if {layout.cert, layout.key} & keys), None)


class TLSSecretError(SecretError):
    """The shop's TLS Secret is missing or unusable; the message says what to fix."""

    reason = "TLSSecretInvalid"


@dataclass(frozen=True)
class TLSMaterial:
    """PEM text of a CA and, for mutual TLS, a client certificate and its key."""

    source: str
    """Where it came from (namespace/name of the Secret), for messages."""
    ca: bytes | None = field(repr=False)
    """None: the system's certificate authorities."""
    cert: bytes | None = field(default=None, repr=False)
    key: bytes | None = field(default=None, repr=False)
    layout: TLSLayout = LAYOUTS[0]
    """The keys it was read from."""


def read_tls_secret(secret: dict[str, Any] | None, where: str) -> TLSMaterial:
    """The material of a Secret (as the API returns it); ``where`` is namespace/name."""
    if secret is None:
        raise TLSSecretError(
            f"Secret {where} named by spec.kafka.tlsSecret does not exist in the shop's namespace"
        )
    data = secret.get("data") or {}
    layout = tls_layout(set(data)) if isinstance(data, dict) else None
    if layout is None:
        expected = "; ".join(f"{each.keys} ({each.name})" for each in LAYOUTS)
        raise TLSSecretError(
            f"Secret {where} has keys {', '.join(sorted(data)) or 'none'}, in no layout "
            f"known: a CA, and a client certificate with its key for mutual TLS (or the "
            f"certificate and key alone, to trust the system's authorities), as {expected}"
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
        for name in (layout.ca, layout.cert, layout.key)
        if name in data
    }
    if (layout.cert in files) != (layout.key in files):
        raise TLSSecretError(
            f"Secret {where} holds only one of {layout.cert} and {layout.key}: a client "
            "certificate needs both"
        )
    return TLSMaterial(
        where, files.get(layout.ca), files.get(layout.cert), files.get(layout.key), layout
    )


CA_KEYS = ("ca.crt", CA_FILE)
"""Where a CA Secret (spec.kafka.caSecret) may hold the CA: Strimzi's cluster CA Secret
and cert-manager's use ca.crt."""


@dataclass(frozen=True)
class CASecret:
    """The CA of ``spec.kafka.caSecret``: which key held it, and its PEM text."""

    key: str
    ca: bytes = field(repr=False)


def read_ca_secret(secret: dict[str, Any] | None, where: str) -> CASecret:
    """The CA in a Secret (as the API returns it); ``where`` is namespace/name."""
    if secret is None:
        raise TLSSecretError(
            f"Secret {where} named by spec.kafka.caSecret does not exist in the shop's namespace"
        )
    data = secret.get("data") or {}
    key = next((k for k in CA_KEYS if isinstance(data, dict) and k in data), None)
    if key is None:
        raise TLSSecretError(
            f"Secret {where} named by spec.kafka.caSecret has no {' or '.join(CA_KEYS)}"
        )
    ca = decode_value(
        data[key],
        where=where,
        key=key,
        limit=MAX_TLS_FILE_BYTES,
        too_large=f"is larger than {MAX_TLS_FILE_BYTES // 1024} KiB; a CA is a few KiB",
        error=TLSSecretError,
    )
    return CASecret(key, ca)


def build_ssl_context(material: TLSMaterial, scratch: Path | None = None) -> ssl.SSLContext:
    """An SSL context from ``material``; raises TLSSecretError if it is not usable.

    ``scratch`` is used only where in-memory files are missing, and left as it was.
    """
    try:
        ca = material.ca
        context = ssl.create_default_context(cadata=ca.decode("ascii") if ca else None)
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
