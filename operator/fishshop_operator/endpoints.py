"""Where the operator may go for a shop: never to loopback, link-local or a cloud's
metadata address, unless an admin allows local endpoints.

A shop names its Connect, Redis and PostgreSQL. Without this guard a tenant could
point the operator at its own loopback (its health port, a sidecar), at the node's
link-local addresses or at the cloud's metadata service, and read the answers back
in its status. The check is made after name resolution: a name that resolves to a
refused address is refused too, and Connect's client resolves through
``GuardedResolver``, so a name that changes its answer between the check and the
call is refused there as well. Private networks (a Service's ClusterIP, a database
on the VPC) are allowed: that is where tenants' servers are.

``fishshop operator --local-endpoints allow`` (env FISHSHOP_LOCAL_ENDPOINTS) turns
the guard off, for a laptop or tests where every server is on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from fishshop_workers.errors import InputError

__all__ = [
    "EndpointRefused",
    "GuardedResolver",
    "allow_local_endpoints",
    "check_endpoint",
    "local_endpoints_allowed",
    "refusal",
]

_REFUSED = (
    ("a loopback address", ipaddress.ip_network("127.0.0.0/8")),
    ("a loopback address", ipaddress.ip_network("::1/128")),
    ("the unspecified address", ipaddress.ip_network("0.0.0.0/8")),
    ("the unspecified address", ipaddress.ip_network("::/128")),
    ("a link-local address (the metadata service is one)", ipaddress.ip_network("169.254.0.0/16")),
    ("a link-local address", ipaddress.ip_network("fe80::/10")),
    ("a cloud metadata address", ipaddress.ip_network("100.100.100.200/32")),
    ("a cloud metadata address", ipaddress.ip_network("fd00:ec2::254/128")),
    ("a multicast address", ipaddress.ip_network("224.0.0.0/4")),
    ("a multicast address", ipaddress.ip_network("ff00::/8")),
)

LOOKUP_SECONDS = 5.0
"""How long the name lookup of a shop's endpoint may take."""

_allowed = False


def allow_local_endpoints(allowed: bool) -> None:
    """Set once at start from the operator's settings."""
    global _allowed
    _allowed = allowed


def local_endpoints_allowed() -> bool:
    return _allowed


class EndpointRefused(InputError):
    """A shop's endpoint that the operator does not call; the message says why."""


def refusal(address: str) -> str | None:
    """Why the operator would not call ``address`` (an IP), or None if it would."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for reason, network in _REFUSED:
        if ip.version == network.version and ip in network:
            return reason
    return None


def _refused(where: str, host: str, address: str, reason: str) -> EndpointRefused:
    shown = host if host == address else f"{host} ({address})"
    return EndpointRefused(
        f"{where}: {shown} is {reason}, which the operator does not call for a shop. "
        "Name a server the operator reaches over the network (a Service, a host); an "
        "admin may allow local endpoints with fishshop operator --local-endpoints allow"
    )


async def check_endpoint(host: str, port: int, where: str) -> None:
    """Raise ``EndpointRefused`` if ``host`` is, or resolves to, a refused address.

    A name that does not resolve passes: the client then says it is unreachable.
    """
    host = host.strip("[]")
    if _allowed or not host:
        return
    reason = refusal(host)
    if reason is not None:
        raise _refused(where, host, host, reason)
    if _is_ip(host):
        return
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError):
        return
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        reason = refusal(address)
        if reason is not None:
            raise _refused(where, host, address, reason)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing a name that resolves to a refused address."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not _allowed:
            for result in results:
                reason = refusal(result["host"])
                if reason is not None:
                    # aiohttp shows an OSError by its strerror.
                    said = str(_refused("Kafka Connect", host, result["host"], reason))
                    raise OSError(errno.EACCES, said)
        return results

    async def close(self) -> None:
        await self._inner.close()
