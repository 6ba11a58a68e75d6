"""How a worker reaches Kafka: address, TLS certificates, SASL credentials."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fishshop_workers.errors import InputError
from fishshop_workers.shop.secret_file import SecretFileError, read_secret_file

__all__ = ["SASL_MECHANISMS", "KafkaSettings", "KafkaSettingsError", "read_sasl_password"]

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
CA_FILE = "ca.pem"
CERT_FILE = "service.cert"
KEY_FILE = "service.key"


class KafkaSettingsError(InputError, ValueError):
    """The connection settings cannot work; the message says what to fix."""


@dataclass(frozen=True)
class KafkaSettings:
    """Connection settings shared by every client fishshop makes.

    ``certs_dir`` holds ``ca.pem`` and, for mutual TLS, ``service.cert`` and
    ``service.key`` (the layout managed Kafka services hand out).
    ``sasl_password`` stays out of ``repr`` and ``str``, so logging the settings,
    or anything that holds them, never shows it.
    """

    bootstrap_servers: str
    certs_dir: Path | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    tls: bool = False
    """TLS with the system's certificate authorities, when no ``certs_dir`` gives a CA
    (a managed Kafka with a public certificate)."""

    @property
    def security_protocol(self) -> str:
        tls = self.certs_dir is not None or self.tls
        if self.sasl_mechanism:
            return "SASL_SSL" if tls else "SASL_PLAINTEXT"
        return "SSL" if tls else "PLAINTEXT"

    def check(self) -> None:
        if not self.bootstrap_servers.strip():
            raise KafkaSettingsError(
                "no Kafka address: pass --bootstrap-servers HOST:PORT "
                "or set FISHSHOP_BOOTSTRAP_SERVERS"
            )
        if self.sasl_mechanism:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise KafkaSettingsError(
                    f"unknown SASL mechanism {self.sasl_mechanism!r}: use one of "
                    + ", ".join(SASL_MECHANISMS)
                )
            if not self.sasl_username or self.sasl_password is None:
                raise KafkaSettingsError(
                    "SASL needs a user and a password: --sasl-username (or "
                    "FISHSHOP_SASL_USERNAME) and --sasl-password-file (or "
                    "FISHSHOP_SASL_PASSWORD_FILE, FISHSHOP_SASL_PASSWORD)"
                )
        if self.certs_dir is not None:
            has_ca = (self.certs_dir / CA_FILE).is_file()
            has_cert = (self.certs_dir / CERT_FILE).is_file()
            has_key = (self.certs_dir / KEY_FILE).is_file()
            if not (has_ca or has_cert or has_key):
                raise KafkaSettingsError(
                    f"{self.certs_dir / CA_FILE} not found: the certificates folder "
                    f"must hold {CA_FILE} (and {CERT_FILE}, {KEY_FILE} for client "
                    f"certificates), or {CERT_FILE} and {KEY_FILE} alone to trust the "
                    "system's certificate authorities"
                )
            if has_cert != has_key:
                raise KafkaSettingsError(
                    f"{self.certs_dir} holds only one of {CERT_FILE} and {KEY_FILE}: "
                    "a client certificate needs both"
                )

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.certs_dir is None:
            return ssl.create_default_context() if self.tls else None
        ca = self.certs_dir / CA_FILE
        # No CA in the folder: the system's certificate authorities (a public certificate).
        context = ssl.create_default_context(cafile=str(ca) if ca.is_file() else None)
        cert = self.certs_dir / CERT_FILE
        if cert.is_file():
            context.load_cert_chain(str(cert), str(self.certs_dir / KEY_FILE))
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client."""
        self.check()
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options


def read_sasl_password(path: Path) -> str:
    """The password held in ``path`` (a mounted Secret, for example), without one
    trailing newline."""
    try:
        return read_secret_file(
            path,
            "SASL password file",
            "--sasl-password-file (or FISHSHOP_SASL_PASSWORD_FILE)",
        )
    except SecretFileError as error:
        raise KafkaSettingsError(str(error)) from None
