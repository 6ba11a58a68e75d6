"""A Redis ACL user per shop, on a real redis-server: the shop's cabinet runs a whole
day as its user, and that user can touch no other shop's keys and nothing server-wide."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import NoPermissionError

from fishshop_workers.cabinet.acl import acl_setuser, acl_user
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import CabinetSettings, Outcome, conservation_gaps
from fishshop_workers.cabinet.keys import CabinetKeys, RecordKey
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.embedded.redis import EmbeddedRedis


@pytest.fixture
async def admin(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


def _as_user(server: EmbeddedRedis, keys: CabinetKeys, password: str) -> CabinetConnection:
    """The shop's connection: its user in the URL, its password from the Secret."""
    host_port = server.url.split("//", 1)[1]
    return CabinetConnection(f"redis://{acl_user(keys)}@{host_port}", password=password)


async def test_a_shops_user_runs_its_cabinet_and_touches_nothing_else(
    redis_server: EmbeddedRedis, admin: Redis, shop_name: str
) -> None:
    mine = CabinetKeys(f"fishshop.fs-a.{shop_name}")
    theirs = CabinetKeys(f"fishshop.fs-b.{shop_name}")
    for keys in (mine, theirs):
        await admin.execute_command(*acl_setuser(keys, f"pw-{keys.prefix}"))
    async with HotCabinet.connect(CabinetConnection(redis_server.url), theirs.prefix) as other:
        await other.fry(RecordKey("cook", "cook", 0, 1), "theirs", {"chips": 1}, CabinetSettings())

    # A whole day as the shop's own user: the cook fries, a preparer serves what was
    # set aside and takes from the cabinet, a commit forgets, the health check, the
    # books, the start of a day, and the keys emptied when the shop is deleted.
    connection = _as_user(redis_server, mine, f"pw-{mine.prefix}")
    async with HotCabinet.connect(connection, mine.prefix) as cabinet:
        await cabinet.ping()
        fried = await cabinet.fry(
            RecordKey("cook", "cook", 0, 1), "o1", {"chips": 1}, CabinetSettings()
        )
        assert fried.batches
        await cabinet.serve_set_aside(RecordKey("preparer", "orders", 0, 1), "o1")
        taken = await cabinet.take(
            RecordKey("preparer", "orders", 0, 2), "o2", {"cod": 1, "chips": 1}
        )
        assert taken.outcome is Outcome.SERVE
        await cabinet.forget(RecordKey("preparer", "orders", 0, 3))
        assert conservation_gaps(await cabinet.counts()) == {}
        await cabinet.reset()
        assert await cabinet.empty() > 0

    # The same user, by hand: nothing of the other shop, nothing server-wide.
    user = Redis.from_url(connection.url, password=f"pw-{mine.prefix}", decode_responses=True)
    try:
        for forbidden in (
            user.hgetall(theirs.counts),
            user.delete(theirs.counts),
            user.eval("return redis.call('GET', KEYS[1])", 1, theirs.day),
            user.flushall(),
            user.keys("*"),
            user.config_get("*"),
            user.execute_command("ACL", "LIST"),
            user.hset(f"{mine.tag}:elsewhere", "x", "1"),  # its own tag, outside the cabinet
        ):
            with pytest.raises(NoPermissionError):
                await forbidden
    finally:
        await user.aclose()
    assert await admin.hgetall(theirs.counts)  # the other shop's books are untouched
