"""``HotCabinet``: the one place that talks to the cabinet's Redis.

Each decision is one Lua script (``scripts``), sent with EVALSHA: atomic, and
remembered for the record it was made for until that record's transaction commits,
so a replayed record gets the same answer and changes nothing. Every Redis error
comes out as ``CabinetUnavailable``, with where Redis is and what to check.

    cabinet = HotCabinet.connect(CabinetConnection("redis://127.0.0.1:6379"), "fishshop.harbour")
    decision = await cabinet.take(RecordKey("preparer", topic, partition, offset),
                                  order.id, portions(order.parts))
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from fishshop_workers.cabinet import scripts
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import (
    CABINET_ITEMS,
    ITEMS,
    CabinetCounts,
    CabinetSettings,
    Decision,
    FryResult,
    Item,
    ItemCounts,
    Outcome,
    Portions,
    check_portions,
)
from fishshop_workers.cabinet.errors import CabinetConflict, CabinetStale, CabinetUnavailable
from fishshop_workers.cabinet.keys import RECORD_TTL, CabinetKeys, RecordKey

__all__ = ["HotCabinet"]

T = TypeVar("T")

# The books of one item in the counts hash, by the name ItemCounts gives them.
_BOOKS = {
    "cabinet": "in_cabinet",
    "fried": "fried",
    "served": "served",
    "aside": "set_aside",
    "batches": "batches",
}


def _quick_retry() -> Retry:
    # A couple of quick retries ride out a dropped connection; a longer outage is
    # the worker's to handle (it stops taking orders), so it hears of it at once.
    # A script whose answer was lost is safe to send again: it finds its record.
    return Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)


class HotCabinet:
    """One shop's cabinet in Redis.

    ``take`` and ``serve_set_aside`` answer preparers, ``fry`` answers the cook.
    A replay of a record (same ``RecordKey``) returns the first answer with
    ``replayed=True`` and changes nothing. Safe to share between asyncio tasks.
    """

    def __init__(
        self,
        client: Redis,
        shop_prefix: str,
        *,
        where: str | None = None,
        record_ttl: timedelta = RECORD_TTL,
    ) -> None:
        self.keys = CabinetKeys(shop_prefix)
        self.where = where or _describe(client)
        self._client = client
        self._ttl = max(1, int(record_ttl.total_seconds()))
        self._take = client.register_script(scripts.TAKE)
        self._fry = client.register_script(scripts.FRY)
        self._serve_set_aside = client.register_script(scripts.SERVE_SET_ASIDE)
        self._reset = client.register_script(scripts.RESET)
        self._forget = client.register_script(scripts.FORGET)

    @classmethod
    def connect(
        cls,
        connection: CabinetConnection,
        shop_prefix: str,
        *,
        record_ttl: timedelta = RECORD_TTL,
    ) -> HotCabinet:
        """A cabinet on a new client; nothing is sent until the first call."""
        client = Redis.from_url(
            connection.url,
            decode_responses=True,
            retry=_quick_retry(),
            **connection.client_options(),
        )
        return cls(client, shop_prefix, where=connection.where, record_ttl=record_ttl)

    async def take(self, record: RecordKey, order_id: str, portions: Portions) -> Decision:
        """For an order that is not ready: take every portion it needs from the
        cabinet and ``SERVE``, or, if anything is short (plaice always is), take
        nothing and send it ``TO_COOK``."""
        args = [*self._order_args(record, order_id), *_portion_args(portions)]
        replayed, result = await self._decide(self._take, record, args, order_id)
        return _decision(result, replayed)

    async def fry(
        self, record: RecordKey, order_id: str, portions: Portions, settings: CabinetSettings
    ) -> FryResult:
        """The cook fries what the order needs and sets it aside for it, then fries
        one batch of each cabinet item below its threshold."""
        rules: list[str | int] = [len(CABINET_ITEMS)]
        for item in CABINET_ITEMS:
            rules += [item, settings.batch_size(item), settings.threshold(item)]
        args = [*self._order_args(record, order_id), *_portion_args(portions), *rules]
        replayed, result = await self._decide(self._fry, record, args, order_id)
        return FryResult(
            for_order=_portions_from(result.get("for_order")),
            batches={
                item: count
                for item, count in _portions_from(result.get("batches")).items()
                if item in CABINET_ITEMS
            },
            replayed=replayed,
        )

    async def serve_set_aside(self, record: RecordKey, order_id: str) -> Decision:
        """For a ready order back from the cook: its set-aside portions are served.
        An order with nothing set aside (cooked before the cabinet was on) is
        served all the same, with nothing moved."""
        replayed, result = await self._decide(
            self._serve_set_aside, record, self._order_args(record, order_id), order_id
        )
        return _decision(result, replayed)

    async def counts(self) -> CabinetCounts:
        """Every item's books, read in one command (one instant)."""
        raw: Mapping[Any, Any] = await self._call(self._client.hgetall(self.keys.counts))
        books: dict[Item, dict[str, int]] = {item: {} for item in ITEMS}
        for field, value in raw.items():
            item, _, book = _text(field).partition(":")
            if item in books and book in _BOOKS:
                books[item][_BOOKS[book]] = int(_text(value))
        return CabinetCounts({item: ItemCounts(**books[item]) for item in ITEMS})

    async def forget(self, record: RecordKey) -> None:
        """``record``'s partition has committed everything before ``record.offset``:
        its decisions below are no longer needed, and a late call for a record below
        it (from a worker that lost the partition) is refused with ``CabinetStale``."""
        keys = [self.keys.decided(record), self.keys.day]
        await self._call(self._forget(keys=keys, args=[record.offset, self._ttl]))

    async def reset(self) -> None:
        """Start of the day: every count 0, nothing set aside, and no decision of
        an earlier day is replayed."""
        await self._call(self._reset(keys=list(self.keys.all())))

    async def empty(self) -> int:
        """The shop is gone: every key of its cabinet goes (counts, set-aside orders,
        decisions, the day); how many. Keys of other shops are never matched: the
        pattern is this shop's hash tag, its glob characters escaped."""
        return await self._call(self._unlink_matching(self.keys.pattern))

    async def _unlink_matching(self, pattern: str) -> int:
        removed = 0
        batch: list[Any] = []
        async for key in self._client.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) == 500:
                removed += int(await self._client.unlink(*batch))
                batch.clear()
        if batch:
            removed += int(await self._client.unlink(*batch))
        return removed

    async def ping(self) -> None:
        """Raise ``CabinetUnavailable`` unless Redis answers."""
        await self._call(self._client.ping())

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HotCabinet:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _order_args(self, record: RecordKey, order_id: str) -> list[str | int]:
        if not isinstance(order_id, str) or not order_id:
            raise ValueError(f"an order id is a non-empty string, not {order_id!r}")
        return [self._ttl, order_id, self.keys.record_field(record, order_id), record.offset]

    async def _decide(
        self,
        script: Callable[..., Awaitable[Any]],
        record: RecordKey,
        args: Sequence[str | int],
        order_id: str,
    ) -> tuple[bool, dict[str, Any]]:
        keys = [*self.keys.all(), self.keys.decided(record)]
        answer = await self._call(script(keys=keys, args=list(args)))
        replayed, encoded = answer
        if int(replayed) == scripts.STALE:
            raise CabinetStale(
                f"record {record.topic}[{record.partition}]@{record.offset} was committed "
                "by the partition's owner: this worker no longer owns the partition"
            )
        result: dict[str, Any] = json.loads(_text(encoded))
        if result.get("order") != order_id:
            raise CabinetConflict(
                f"record {record.topic}[{record.partition}]@{record.offset} was decided for "
                f"order {result.get('order')!r}, not {order_id!r}: were the shop's topics made "
                "again without resetting the cabinet?"
            )
        return bool(int(replayed)), result

    async def _call(self, pending: Awaitable[T]) -> T:
        try:
            return await pending
        except (RedisError, OSError) as error:
            reason = str(error).rstrip(". ") or type(error).__name__
            raise CabinetUnavailable(
                f"the hot cabinet's Redis at {self.where} cannot be used: {reason}. "
                "Check that Redis runs there and is reachable, the Redis URL (rediss:// "
                "if it wants TLS) and the password"
            ) from error


def _portion_args(portions: Portions) -> list[str | int]:
    checked = check_portions(portions)
    args: list[str | int] = [len(checked)]
    for item, count in checked.items():
        args += [item, count]
    return args


def _portions_from(encoded: Any) -> dict[Item, int]:
    # cjson writes an empty Lua table as {}, and counts as numbers.
    if not isinstance(encoded, dict):
        return {}
    return {item: int(encoded[item]) for item in ITEMS if item in encoded}


def _decision(result: Mapping[str, Any], replayed: bool) -> Decision:
    return Decision(
        outcome=Outcome(result["outcome"]),
        portions=_portions_from(result.get("portions")),
        replayed=replayed,
    )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _describe(client: Redis) -> str:
    options = client.connection_pool.connection_kwargs
    if "path" in options:
        return f"unix:{options['path']}"
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"
