"""The one cache of the Secrets a shop names: Kafka TLS and SASL, Redis credentials,
PostgreSQL.

Read from the shop's own namespace only, decoded once per version (uid and
resourceVersion), held in memory in the shop's own record, so forgotten with the
shop. A Secret that goes or breaks raises at every read until it is back, while what
it last held stays: a blip (deleted and made again, a refresh by external-secrets)
changes no workload.
Design: docs/design/operator.md, "kube/secrets.py".
"""

from __future__ import annotations

import dataclasses
import functools
import ssl
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from fishshop_operator.analyst.spec import read_postgres_secret
from fishshop_operator.cabinet.credentials import RedisCredentials, read_credentials_secret
from fishshop_operator.kafka.sasl import (
    KafkaSasl,
    SaslSecretError,
    read_sasl_secret,
    sasl_identity,
)
from fishshop_operator.kafka.tls import (
    CASecret,
    TLSLayout,
    TLSSecretError,
    build_ssl_context,
    read_ca_secret,
    read_tls_secret,
)
from fishshop_operator.kafka.topics import ShopKafkaSettings, shop_settings
from fishshop_operator.kube.api import object_path
from fishshop_operator.kube.secret_data import HeldSecret
from fishshop_operator.shop.resource import ShopResource
from fishshop_workers.analyst.database import DatabaseAddress

__all__ = [
    "KAFKA_SASL",
    "KAFKA_SECRET_ERRORS",
    "KAFKA_TLS",
    "POSTGRES",
    "REDIS_CREDENTIALS",
    "Held",
    "HeldTLS",
    "SecretCache",
    "SecretReader",
    "held_tls",
]

KAFKA_TLS = "kafka-tls"
KAFKA_CA = "kafka-ca"
KAFKA_SASL = "kafka-sasl"

KAFKA_SECRET_ERRORS = (TLSSecretError, SaslSecretError)
"""What ``kafka_settings`` raises for a Kafka Secret that is missing or unusable; each
has a ``reason`` for the shop's status."""
REDIS_CREDENTIALS = "redis-credentials"
POSTGRES = "postgres"

Held = MutableMapping[str, HeldSecret]
"""A shop's Secrets as last read, by use (``KAFKA_TLS``, ...): part of its memory."""

T = TypeVar("T")


@dataclass(frozen=True)
class HeldTLS:
    """A TLS Secret as held: its context, and the layout its keys were read from."""

    context: ssl.SSLContext
    layout: TLSLayout
    files: tuple[tuple[str, str], ...]
    """Secret key -> file name in the pods (shop/workloads.py), empty for the talk's
    layout."""
    system_cas: bool = False
    """The Secret holds no CA: the system's certificate authorities are trusted."""
    ca_key: str = ""
    """The key of spec.kafka.caSecret that gave the CA, when one did."""

    @property
    def described(self) -> str:
        """Which keys were read, as the status says it."""
        layout = self.layout
        if self.ca_key:
            return f"{layout.name}'s {layout.cert}, {layout.key} with caSecret's {self.ca_key}"
        if self.system_cas:
            return f"{layout.name}'s {layout.cert}, {layout.key} with the system's CAs"
        return f"{layout.name}'s {layout.keys}"


@functools.cache
def system_tls_context() -> ssl.SSLContext:
    """TLS with the system's CAs (spec.kafka.tls), one context for every shop, so that
    shops on one Kafka share their clients."""
    return ssl.create_default_context()


def held_tls(held: Held) -> HeldTLS | None:
    """The TLS Secret last read (what it last held answers during a blip, so the pods'
    mount does not change), None before one was read."""
    known = held.get(KAFKA_TLS)
    return cast(HeldTLS, known.value) if known is not None else None


class SecretReader(Protocol):
    """What the cache needs of the API door."""

    async def get(self, path: str) -> dict[str, Any] | None: ...


class SecretCache:
    """Reads and decodes a shop's Secrets, keeping each in the shop's ``Held``."""

    def __init__(
        self,
        api: SecretReader,
        scratch: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.scratch = scratch
        """Where a client key goes for a moment, only where in-memory files are missing."""
        self.clock = clock

    async def kafka_tls(
        self, shop: ShopResource, held: Held, *, recheck: float = 0.0
    ) -> ssl.SSLContext | None:
        """The TLS context of ``spec.kafka.tlsSecret``, None without one; raises
        TLSSecretError. Every caller of a shop gets the same context object, so the
        shop's Kafka clients are shared. ``recheck``: see ``read``."""
        if not shop.tls_secret:
            held.pop(KAFKA_TLS, None)
            held.pop(KAFKA_CA, None)
            return None
        ca: CASecret | None = None
        depends: tuple[str, ...] = ()
        if shop.ca_secret:
            ca = await self.read(
                shop, held, KAFKA_CA, shop.ca_secret, read_ca_secret, recheck=recheck
            )
            depends = held[KAFKA_CA].version  # a new CA makes a new context
        else:
            held.pop(KAFKA_CA, None)
        tls: HeldTLS = await self.read(
            shop,
            held,
            KAFKA_TLS,
            shop.tls_secret,
            lambda secret, where: self._tls_context(secret, where, ca),
            recheck=recheck,
            depends=depends,
        )
        return tls.context

    async def kafka_sasl(
        self, shop: ShopResource, held: Held, *, recheck: float = 0.0
    ) -> KafkaSasl | None:
        """The SASL identity of ``spec.kafka.sasl``, None without one; raises
        SaslSecretError. ``recheck``: see ``read``."""
        sasl = shop.sasl
        if sasl is None:
            held.pop(KAFKA_SASL, None)
            return None
        secret = await self.read(
            shop, held, KAFKA_SASL, sasl.secret, read_sasl_secret, recheck=recheck
        )
        return sasl_identity(sasl, secret)

    async def kafka_settings(
        self, shop: ShopResource, held: Held, *, recheck: float = 0.0
    ) -> ShopKafkaSettings:
        """How the operator reaches the shop's Kafka, from its TLS and SASL Secrets;
        raises TLSSecretError or SaslSecretError."""
        tls = await self.kafka_tls(shop, held, recheck=recheck)
        if tls is None and shop.system_tls:
            tls = system_tls_context()
        sasl = await self.kafka_sasl(shop, held, recheck=recheck)
        return shop_settings(shop, tls, sasl)

    def _tls_context(
        self, secret: dict[str, Any] | None, where: str, ca: CASecret | None = None
    ) -> HeldTLS:
        """``ca``: spec.kafka.caSecret's CA, which wins over the tlsSecret's own (a
        Strimzi KafkaUser's ca.crt is the clients CA, not the brokers')."""
        material = read_tls_secret(secret, where)
        if ca is not None:
            material = dataclasses.replace(material, ca=ca.ca)
        context = build_ssl_context(material, self.scratch)
        files = material.layout.pod_files(
            client=material.cert is not None, ca=material.ca is not None and ca is None
        )
        return HeldTLS(
            context,
            material.layout,
            files,
            system_cas=material.ca is None,
            ca_key=ca.key if ca is not None else "",
        )

    async def redis_credentials(self, shop: ShopResource, held: Held) -> RedisCredentials | None:
        """What ``spec.hotCabinet.credentialsSecret`` holds, None without one; raises
        CredentialsSecretError."""
        cabinet = shop.hot_cabinet
        if cabinet is None or not cabinet.credentials_secret:
            held.pop(REDIS_CREDENTIALS, None)
            return None
        name = cabinet.credentials_secret
        return await self.read(shop, held, REDIS_CREDENTIALS, name, read_credentials_secret)

    async def postgres(self, shop: ShopResource, held: Held) -> DatabaseAddress:
        """The PostgreSQL that ``spec.analyst.postgresSecret`` names; raises
        PostgresSecretError. Only for a shop with an analyst."""
        assert shop.analyst is not None, "only a shop with an analyst names a PostgreSQL"
        name = shop.analyst.postgres_secret
        return await self.read(shop, held, POSTGRES, name, read_postgres_secret)

    async def read(
        self,
        shop: ShopResource,
        held: Held,
        use: str,
        name: str,
        decode: Callable[[dict[str, Any] | None, str], T],
        *,
        recheck: float = 0.0,
        depends: tuple[str, ...] = (),
    ) -> T:
        """Secret ``name`` of the shop's namespace, decoded, for ``use``.

        The Secret is read at every call, and decoded only when its version changed.
        With ``recheck`` (seconds), what was read less than that long ago serves
        without a read: a caller that looks every few seconds (the autoscaler) then
        sends no GET each time, and still takes up a renewed Secret within ``recheck``.
        """
        known = held.get(use)
        now = self.clock()
        if (
            known is not None
            and known.name == name
            and known.version[2:] == depends
            and now - known.read_at < recheck
        ):
            return cast(T, known.value)
        secret = await self.api.get(object_path("v1", "Secret", shop.namespace, name))
        meta = (secret or {}).get("metadata") or {}
        # ``depends``: the versions of what else the value was decoded with.
        version = (str(meta.get("uid")), str(meta.get("resourceVersion")), *depends)
        if (
            secret is not None
            and known is not None
            and (known.name, known.version)
            == (
                name,
                version,
            )
        ):
            known.read_at = now
            return cast(T, known.value)
        if known is not None and known.name != name:
            held.pop(use, None)  # another Secret is named now: the old one says nothing
        # A Secret that went or broke raises here, and what it last held stays held
        # (its version is the old one, so the next read decodes again).
        value = decode(secret, f"{shop.namespace}/{name}")
        held[use] = HeldSecret(name, version, value, now)
        return value
