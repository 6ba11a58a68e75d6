"""The operator's one call to a shop's hot cabinet: does its Redis answer?

It goes through the workers' own ``HotCabinet`` (the same client, the same error
words), on a client built here so the password and the CA stay in memory. Bounded
in time: a Redis that never answers becomes ``RedisUnreachable`` in the status,
never a reconcile that hangs.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import urlsplit

from redis._parsers import _AsyncRESP3Parser
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, InvalidResponse
from redis.maint_notifications import MaintNotificationsConfig

from fishshop_operator.cabinet.credentials import RedisCredentials
from fishshop_operator.cabinet.spec import HotCabinetSpec
from fishshop_operator.endpoints import EndpointRefused, check_endpoint
from fishshop_operator.shop.conditions import CabinetOutcome
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import CabinetSettingsError
from fishshop_workers.cabinet.errors import CabinetUnavailable
from fishshop_workers.cabinet.store import HotCabinet

__all__ = ["ANSWER_BYTES", "PING_SECONDS", "BoundedAnswers", "check_cabinet", "empty_cabinet"]

PING_SECONDS = 5.0
"""How long the connect and the PING may each take."""
_BOUND = 2 * PING_SECONDS + 1
"""The whole check, name lookup included, never takes longer than this."""


ANSWER_BYTES = 1024 * 1024
"""The most one answer of a shop's Redis may hold: a PING, a SCAN page or an UNLINK
count is far smaller, and a Redis that announces more is refused before it is read."""


class BoundedAnswers(_AsyncRESP3Parser):
    """redis-py's own parser (RESP3, the protocol redis-py speaks first; it reads RESP2
    answers too) with a budget per answer: a string, array, map or set that would take
    the answer past ``ANSWER_BYTES``, or a line longer than the stream's 64 KiB limit,
    is refused from its header, so a Redis that answers 150 MiB costs the operator
    nothing."""

    _left = ANSWER_BYTES

    async def read_response(
        self, disable_decoding: bool = False, push_request: bool = False
    ) -> Any:
        self._left = ANSWER_BYTES
        try:
            return await super().read_response(
                disable_decoding=disable_decoding, push_request=push_request
            )
        except (RecursionError, ValueError) as error:  # nested past reason, a bad number
            raise InvalidResponse(
                f"an answer that is not Redis's: {type(error).__name__}"
            ) from None

    async def _readline(self) -> bytes:
        try:
            line = await super()._readline()
        except ValueError:  # the stream's line limit
            raise InvalidResponse(_TOO_LARGE) from None
        self._spend(len(line) + 2)
        if line[:1] in b"*~>%|" and line[1:].isdigit():
            # Refused by its count: each element takes 4 bytes at least (":1\r\n").
            self._check(4 * int(line[1:]) * (2 if line[:1] in b"%|" else 1))
        return line

    async def _read(self, length: int) -> bytes:
        if length < -1:  # a negative length would move the read back and lift the budget
            raise InvalidResponse(f"a string of length {length}, which no Redis sends")
        self._spend(max(0, length) + 2)  # before a byte of the bulk string is read
        return await super()._read(length)

    def _check(self, size: int) -> None:
        if size > self._left:
            raise InvalidResponse(_TOO_LARGE)

    def _spend(self, size: int) -> None:
        self._check(size)
        self._left -= size


_TOO_LARGE = (
    f"its answer is larger than {ANSWER_BYTES // 1024} KiB, which no Redis sends for these commands"
)


def _ca_text(credentials: RedisCredentials | None, spec: HotCabinetSpec) -> str | None:
    """The Secret's CA for a ``rediss://`` Redis; raises ValueError if it is not one."""
    if credentials is None or credentials.ca is None or not spec.tls:
        return None
    text = credentials.ca.decode("ascii")  # PEM is ASCII; anything else is not a CA
    ssl.create_default_context(cadata=text)  # refuses what OpenSSL cannot read
    return text


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 6379


async def check_cabinet(
    spec: HotCabinetSpec, shop_prefix: str, credentials: RedisCredentials | None
) -> CabinetOutcome:
    """PING the shop's Redis with its credentials; the outcome says what to fix."""
    try:
        ca = _ca_text(credentials, spec)
    except (ValueError, ssl.SSLError) as error:
        source = credentials.source if credentials else "?"
        return CabinetOutcome(
            False,
            "CredentialsSecretInvalid",
            f"Secret {source}: ca.pem is not a PEM certificate OpenSSL can read ({error})",
        )
    try:
        connection = CabinetConnection(
            spec.redis_url,
            username=credentials.username if credentials else None,
            password=credentials.password if credentials else None,
            timeout_seconds=PING_SECONDS,
        )
    except CabinetSettingsError as error:  # the URL passed names.check_redis_url already
        return CabinetOutcome(False, "InvalidRedisUrl", str(error))
    try:
        await check_endpoint(*_host_port(connection.url), "spec.hotCabinet.redisUrl")
    except EndpointRefused as error:
        return CabinetOutcome(False, "EndpointRefused", str(error))
    options = connection.client_options()
    if ca is not None:
        options["ssl_ca_data"] = ca
    # One try: the next reconcile is the retry, and the status must not wait for it.
    client = Redis.from_url(
        connection.url,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),
        parser_class=BoundedAnswers,
        # No cluster maintenance notices: one more command the check does not need.
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
        **options,
    )
    cabinet = HotCabinet(client, shop_prefix, where=connection.where)
    try:
        await asyncio.wait_for(cabinet.ping(), _BOUND)
    except CabinetUnavailable as error:
        refused = isinstance(error.__cause__, AuthenticationError)
        reason = "RedisAuthenticationFailed" if refused else "RedisUnreachable"
        return CabinetOutcome(False, reason, str(error))
    except TimeoutError:
        return CabinetOutcome(
            False,
            "RedisUnreachable",
            f"the hot cabinet's Redis at {connection.where} did not answer within "
            f"{_BOUND:.0f}s. Check spec.hotCabinet.redisUrl and that Redis is up and "
            "reachable from the operator",
        )
    finally:
        await cabinet.close()
    return CabinetOutcome(True, "CabinetReady", f"Redis at {connection.where} answers")


async def empty_cabinet(
    spec: HotCabinetSpec, shop_prefix: str, credentials: RedisCredentials | None
) -> int:
    """The shop is deleted: every key of its cabinet goes; how many. Bounded in time;
    raises ``CabinetUnavailable`` (or ``EndpointRefused``) when Redis cannot be used."""
    connection = CabinetConnection(
        spec.redis_url,
        username=credentials.username if credentials else None,
        password=credentials.password if credentials else None,
        timeout_seconds=PING_SECONDS,
    )
    await check_endpoint(*_host_port(connection.url), "spec.hotCabinet.redisUrl")
    options = connection.client_options()
    ca = _ca_text(credentials, spec)
    if ca is not None:
        options["ssl_ca_data"] = ca
    client = Redis.from_url(
        connection.url,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),
        parser_class=BoundedAnswers,
        # No cluster maintenance notices: one more command the check does not need.
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
        **options,
    )
    cabinet = HotCabinet(client, shop_prefix, where=connection.where)
    try:
        async with asyncio.timeout(4 * _BOUND):
            return await cabinet.empty()
    except TimeoutError:
        raise CabinetUnavailable(
            f"the hot cabinet's Redis at {connection.where} did not empty the shop's keys "
            f"within {4 * _BOUND:.0f}s"
        ) from None
    finally:
        await cabinet.close()
