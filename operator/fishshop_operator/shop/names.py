"""Names from a FishShop that reach a URL, an object name or a Kafka connection. Pure.

The CRD refuses each of these with the same words; the operator checks them again
when it reads a shop, because a CRD can be older than the operator, edited, or
installed without its validation rules, and a name pasted into a request path
decides which object the operator reads.
"""

from __future__ import annotations

import re

from fishshop_workers.shop.spec import ShopSpecError

__all__ = [
    "MAX_SHOP_NAME",
    "check_bootstrap_servers",
    "check_credentials_secret",
    "check_namespace",
    "check_redis_url",
    "check_secret_name",
    "check_shop_name",
    "check_topic_prefix",
]

MAX_SHOP_NAME = 47
"""The StatefulSet ``<shop>-till`` labels its pods ``controller-revision-hash:
<shop>-till-<hash of up to 10 characters>``, and a label value holds 63 at most."""

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS1123_LABEL = re.compile(_LABEL)
DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_HOST = r"([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])"
"""A name or IPv4 address, or an IPv6 address in brackets."""
_SERVER = rf"{_HOST}:{_PORT}"
BOOTSTRAP_SERVERS = re.compile(rf"{_SERVER}(,{_SERVER})*")
REDIS_URL = re.compile(rf"rediss?://{_SERVER}(/[0-9]{{1,5}})?")
"""No user or password in it: a password belongs in a Secret, not in the shop's spec."""
TOPIC_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,200}")

SHOP_NAME_MESSAGE = (
    "a shop's name must start with a lowercase letter and hold only lowercase letters, "
    "digits and '-' (no dots), ending with a letter or digit: it names the shop's "
    "Services and workloads"
)
SHOP_NAME_LENGTH_MESSAGE = (
    f"a shop's name must be at most {MAX_SHOP_NAME} characters: the tills' StatefulSet "
    "<name>-till and its revision label must fit in 63"
)
TLS_NAME_MESSAGE = (
    "tlsSecret must be the name of a Secret in the shop's own namespace: lowercase "
    "letters, digits, '-' and '.', starting and ending with a letter or digit, at most "
    "253 characters"
)
CREDENTIALS_NAME_MESSAGE = (
    "credentialsSecret must be the name of a Secret in the shop's own namespace: lowercase "
    "letters, digits, '-' and '.', starting and ending with a letter or digit, at most "
    "253 characters"
)
REDIS_URL_MESSAGE = (
    "redisUrl must be redis://HOST:PORT, or rediss://HOST:PORT for TLS, with a port from 1 "
    "to 65535 and optionally /DB (a number), for example redis://redis.redis.svc:6379/0; "
    "no password in it: put that in credentialsSecret"
)
BOOTSTRAP_MESSAGE = (
    "bootstrapServers must be host:port with a port from 1 to 65535, or several separated "
    "by commas, for example kafka.kafka.svc:9092"
)


def check_shop_name(name: str) -> None:
    if not DNS1035_LABEL.fullmatch(name):
        raise ShopSpecError(f"metadata.name {name!r}: {SHOP_NAME_MESSAGE}")
    if len(name) > MAX_SHOP_NAME:
        raise ShopSpecError(f"metadata.name {name!r}: {SHOP_NAME_LENGTH_MESSAGE}")


def check_namespace(namespace: str) -> None:
    """The API server hands these out; a bad one would mean a corrupt object."""
    if len(namespace) > 63 or not DNS1123_LABEL.fullmatch(namespace):
        raise ShopSpecError(f"metadata.namespace {namespace!r} is not a namespace name")


def check_secret_name(name: str) -> None:
    """Empty means no TLS; anything else is one object name, never a path."""
    if name and (len(name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(name)):
        raise ShopSpecError(f"spec.kafka.tlsSecret {name!r}: {TLS_NAME_MESSAGE}")


def check_credentials_secret(name: str) -> None:
    """Empty means no Redis credentials; anything else is one object name, never a path."""
    if name and (len(name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(name)):
        raise ShopSpecError(
            f"spec.hotCabinet.credentialsSecret {name!r}: {CREDENTIALS_NAME_MESSAGE}"
        )


def check_redis_url(url: str) -> None:
    """The URL is never quoted back: a refused one may hold a password."""
    if len(url) > 1024 or not REDIS_URL.fullmatch(url):
        raise ShopSpecError(f"spec.hotCabinet.redisUrl: {REDIS_URL_MESSAGE}")


def check_bootstrap_servers(servers: str) -> None:
    if len(servers) > 1024 or not BOOTSTRAP_SERVERS.fullmatch(servers):
        raise ShopSpecError(f"spec.kafka.bootstrapServers {servers!r}: {BOOTSTRAP_MESSAGE}")


def check_topic_prefix(prefix: str | None) -> None:
    if prefix is not None and not TOPIC_PREFIX.fullmatch(prefix):
        raise ShopSpecError(
            f"spec.topicPrefix {prefix!r} must be 1 to 200 letters, digits, '.', '_' or '-'"
        )
