"""The hot cabinet against a real redis-server: each decision atomic, made once per
record, the books balanced under racing preparers, and nothing lost to a SIGKILL."""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import (
    ITEMS,
    CabinetCounts,
    CabinetSettings,
    Decision,
    Item,
    ItemCounts,
    Outcome,
    batches_to_fry,
    conservation_gaps,
    portions,
    take_outcome,
)
from fishshop_workers.cabinet.errors import CabinetStale, CabinetUnavailable
from fishshop_workers.cabinet.keys import RecordKey
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.embedded.kafka import free_port
from fishshop_workers.embedded.redis import EmbeddedRedis, RedisStartError
from fishshop_workers.shop.menu import draw_parts
from tests.support.processes import wait_gone

COD_AND_CHIPS: dict[Item, int] = {"cod": 1, "chips": 1}
PLAICE_AND_CHIPS: dict[Item, int] = {"plaice": 1, "chips": 1}


def at_preparer(offset: int) -> RecordKey:
    return RecordKey("preparer", "orders", 0, offset)


def at_cook(offset: int) -> RecordKey:
    return RecordKey("cook", "cook", 0, offset)


@pytest.fixture
def prefix(shop_name: str) -> str:
    return f"fishshop.{shop_name}"


@pytest.fixture
async def cabinet(redis_server: EmbeddedRedis, prefix: str) -> AsyncIterator[HotCabinet]:
    async with HotCabinet.connect(CabinetConnection(redis_server.url), prefix) as opened:
        yield opened


@pytest.fixture
async def raw(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    """A plain client, to look at what the cabinet wrote."""
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


async def stock(cabinet: HotCabinet, order: str = "stocker", offset: int = 10_000) -> None:
    """One cook's visit at the start of the day: a batch of cod and one of chips."""
    result = await cabinet.fry(at_cook(offset), order, {"chips": 1}, CabinetSettings())
    assert result.batches == {"cod": 10, "chips": 20}
    await cabinet.serve_set_aside(at_preparer(offset), order)


# -- the decisions --------------------------------------------------------------------


async def test_the_day_starts_empty_and_the_first_order_goes_to_the_cook(
    cabinet: HotCabinet,
) -> None:
    assert await cabinet.counts() == CabinetCounts()
    decision = await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)
    assert decision == Decision(Outcome.TO_COOK, {}, replayed=False)
    assert await cabinet.counts() == CabinetCounts()


async def test_the_cook_fries_for_the_order_and_a_batch_of_what_runs_low(
    cabinet: HotCabinet, raw: Redis
) -> None:
    fried = await cabinet.fry(at_cook(0), "o1", {"cod": 1, "chips": 2}, CabinetSettings())
    assert fried.for_order == {"cod": 1, "chips": 2}
    assert fried.batches == {"cod": 10, "chips": 20}
    assert not fried.replayed
    counts = await cabinet.counts()
    assert counts["cod"] == ItemCounts(in_cabinet=10, fried=11, served=0, set_aside=1, batches=1)
    assert counts["chips"] == ItemCounts(in_cabinet=20, fried=22, served=0, set_aside=2, batches=1)
    assert await raw.hexists(cabinet.keys.set_aside, "o1")

    # The cabinet is above both thresholds now: the next order gets no batch.
    again = await cabinet.fry(at_cook(1), "o2", PLAICE_AND_CHIPS, CabinetSettings())
    assert (again.for_order, again.batches) == ({"chips": 1, "plaice": 1}, {})
    assert (await cabinet.counts())["plaice"] == ItemCounts(fried=1, set_aside=1)


async def test_a_ready_order_is_served_what_was_set_aside_for_it(
    cabinet: HotCabinet, raw: Redis
) -> None:
    await cabinet.fry(at_cook(0), "o1", PLAICE_AND_CHIPS, CabinetSettings())
    decision = await cabinet.serve_set_aside(at_preparer(1), "o1")
    assert decision == Decision(Outcome.SERVE, {"chips": 1, "plaice": 1})
    counts = await cabinet.counts()
    assert counts["plaice"] == ItemCounts(fried=1, served=1)
    assert counts["chips"] == ItemCounts(in_cabinet=20, fried=21, served=1, batches=1)
    assert not await raw.hexists(cabinet.keys.set_aside, "o1")
    assert conservation_gaps(counts) == {}


async def test_a_ready_order_with_nothing_set_aside_is_served_with_nothing_moved(
    cabinet: HotCabinet,
) -> None:
    # Cooked before the cabinet was turned on.
    decision = await cabinet.serve_set_aside(at_preparer(3), "cooked-yesterday")
    assert decision == Decision(Outcome.SERVE, {})
    assert await cabinet.counts() == CabinetCounts()


async def test_an_order_is_served_from_the_cabinet_when_every_portion_is_there(
    cabinet: HotCabinet,
) -> None:
    await stock(cabinet)
    decision = await cabinet.take(at_preparer(0), "o1", {"cod": 1, "chips": 3})
    assert decision == Decision(Outcome.SERVE, {"cod": 1, "chips": 3})
    counts = await cabinet.counts()
    assert counts["cod"] == ItemCounts(in_cabinet=9, fried=10, served=1, batches=1)
    assert counts["chips"] == ItemCounts(in_cabinet=17, fried=21, served=4, batches=1)


async def test_an_order_short_of_one_item_takes_nothing_and_goes_to_the_cook(
    cabinet: HotCabinet,
) -> None:
    await stock(cabinet)
    before = await cabinet.counts()
    decision = await cabinet.take(at_preparer(0), "o1", {"cod": 11, "chips": 1})
    assert decision.outcome is Outcome.TO_COOK
    assert await cabinet.counts() == before


async def test_plaice_goes_to_the_cook_even_from_a_full_cabinet(cabinet: HotCabinet) -> None:
    await stock(cabinet)
    before = await cabinet.counts()
    assert (await cabinet.take(at_preparer(0), "o1", PLAICE_AND_CHIPS)).outcome is Outcome.TO_COOK
    assert await cabinet.counts() == before


# -- replays --------------------------------------------------------------------------


async def test_a_replayed_take_repeats_the_decision_and_takes_nothing_more(
    cabinet: HotCabinet,
) -> None:
    await stock(cabinet)
    first = await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)
    after_first = await cabinet.counts()
    again = await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)
    assert first == Decision(Outcome.SERVE, COD_AND_CHIPS, replayed=False)
    assert again == Decision(Outcome.SERVE, COD_AND_CHIPS, replayed=True)
    assert await cabinet.counts() == after_first


async def test_a_replayed_to_cook_stays_to_cook_though_the_cabinet_filled_since(
    cabinet: HotCabinet,
) -> None:
    assert (await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)).outcome is Outcome.TO_COOK
    await stock(cabinet)
    before = await cabinet.counts()
    again = await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)
    assert again == Decision(Outcome.TO_COOK, {}, replayed=True)
    assert await cabinet.counts() == before


async def test_a_replayed_fry_fries_nothing_more(cabinet: HotCabinet, raw: Redis) -> None:
    first = await cabinet.fry(at_cook(0), "o1", PLAICE_AND_CHIPS, CabinetSettings())
    after_first = await cabinet.counts()
    aside = await raw.hget(cabinet.keys.set_aside, "o1")
    # Replayed with other settings: the first decision stands.
    again = await cabinet.fry(at_cook(0), "o1", PLAICE_AND_CHIPS, CabinetSettings(cod_batch=7))
    assert (again.for_order, again.batches, again.replayed) == (
        first.for_order,
        first.batches,
        True,
    )
    assert await cabinet.counts() == after_first
    assert await raw.hget(cabinet.keys.set_aside, "o1") == aside


async def test_a_replayed_serve_of_set_aside_portions_serves_nothing_more(
    cabinet: HotCabinet,
) -> None:
    await cabinet.fry(at_cook(0), "o1", PLAICE_AND_CHIPS, CabinetSettings())
    first = await cabinet.serve_set_aside(at_preparer(1), "o1")
    after_first = await cabinet.counts()
    again = await cabinet.serve_set_aside(at_preparer(1), "o1")
    assert first == Decision(Outcome.SERVE, {"chips": 1, "plaice": 1}, replayed=False)
    assert again == Decision(Outcome.SERVE, {"chips": 1, "plaice": 1}, replayed=True)
    assert await cabinet.counts() == after_first


async def test_another_order_at_the_same_offset_is_decided_afresh(
    cabinet: HotCabinet,
) -> None:
    """The shop's topics made again start at offset 0: their orders are new records,
    decided on their own, and the shop goes on (never a conflict that stops it)."""
    await stock(cabinet)
    first = await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)
    other = await cabinet.take(at_preparer(0), "o2", COD_AND_CHIPS)
    assert (first.replayed, other.replayed) == (False, False)
    assert other.outcome is Outcome.SERVE
    assert (await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)).replayed
    assert not conservation_gaps(await cabinet.counts())


async def test_an_idle_cabinet_is_kept_for_days_and_then_forgotten(
    cabinet: HotCabinet, raw: Redis
) -> None:
    await stock(cabinet)
    await cabinet.fry(at_cook(0), "o0", PLAICE_AND_CHIPS, CabinetSettings())
    await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)
    keys = [key async for key in raw.scan_iter(match=cabinet.keys.tag.replace("{", "\\{") + "*")]
    assert len(keys) >= 4
    for key in keys:
        ttl = await raw.ttl(key)
        assert 7 * 86400 - 60 <= ttl <= 7 * 86400, key


async def test_a_commit_forgets_the_decisions_below_it(cabinet: HotCabinet, raw: Redis) -> None:
    """What Redis holds for a partition is what is in flight, not its history; and a
    record below the committed offset is never decided again (a worker that lost the
    partition and asks late is refused)."""
    await stock(cabinet)
    decided = cabinet.keys.decided(at_preparer(0))
    await raw.delete(decided)  # the stocker's own decision, to count only these
    for offset in range(10):
        await cabinet.take(at_preparer(offset), f"o{offset}", COD_AND_CHIPS)
    assert await raw.hlen(decided) == 10
    await cabinet.forget(at_preparer(6))
    fields = await raw.hkeys(decided)
    assert "committed" in fields
    kept = sorted(int(f.split(":")[0]) for f in fields if f != "committed")
    assert kept == [6, 7, 8, 9]
    before = await cabinet.counts()
    with pytest.raises(CabinetStale):
        await cabinet.take(at_preparer(3), "o3", COD_AND_CHIPS)
    with pytest.raises(CabinetStale):
        await cabinet.take(at_preparer(5), "late", COD_AND_CHIPS)
    assert await cabinet.counts() == before
    # In flight still replays; a commit never moves the offset back.
    assert (await cabinet.take(at_preparer(7), "o7", COD_AND_CHIPS)).replayed
    await cabinet.forget(at_preparer(2))
    with pytest.raises(CabinetStale):
        await cabinet.take(at_preparer(4), "o4", COD_AND_CHIPS)
    await cabinet.forget(at_preparer(10))
    assert await raw.hkeys(decided) == ["committed"]


async def test_a_reset_starts_a_new_day_in_which_no_old_decision_is_replayed(
    cabinet: HotCabinet, raw: Redis
) -> None:
    await stock(cabinet)
    await cabinet.fry(at_cook(0), "o1", PLAICE_AND_CHIPS, CabinetSettings())
    assert (await cabinet.take(at_preparer(0), "o2", COD_AND_CHIPS)).outcome is Outcome.SERVE
    await cabinet.reset()
    assert await cabinet.counts() == CabinetCounts()
    assert not await raw.exists(cabinet.keys.set_aside)
    # Topics made again start at offset 0: that record is a new one today.
    again = await cabinet.take(at_preparer(0), "o9", COD_AND_CHIPS)
    assert again == Decision(Outcome.TO_COOK, {}, replayed=False)


# -- the rules, and the books under load ----------------------------------------------


async def test_redis_decides_as_the_rules_say_over_a_long_day(cabinet: HotCabinet) -> None:
    rng = random.Random(10)
    settings = CabinetSettings(cod_batch=4, chips_batch=9, cod_threshold=2, chips_threshold=5)
    waiting: list[tuple[str, dict[Item, int]]] = []
    offset = 0
    for number in range(150):
        needed = portions(draw_parts(rng, plaice=True))
        before = (await cabinet.counts()).in_cabinet()
        offset += 1
        decision = await cabinet.take(at_preparer(offset), f"o{number}", needed)
        assert decision.outcome is take_outcome(before, needed)
        assert decision.portions == (needed if decision.outcome is Outcome.SERVE else {})
        if decision.outcome is Outcome.TO_COOK:
            waiting.append((f"o{number}", needed))
        if waiting and rng.random() < 0.6:
            order, order_needs = waiting.pop(0)
            before = (await cabinet.counts()).in_cabinet()
            offset += 1
            fried = await cabinet.fry(at_cook(offset), order, order_needs, settings)
            assert fried.for_order == order_needs
            assert fried.batches == batches_to_fry(before, settings)
            offset += 1
            served = await cabinet.serve_set_aside(at_preparer(offset), order)
            assert served.portions == order_needs
        assert conservation_gaps(await cabinet.counts()) == {}
    counts = await cabinet.counts()
    assert counts["cod"].served > 0 and counts["cod"].batches > 0


async def test_racing_preparers_never_take_what_is_not_there_and_the_books_balance(
    redis_server: EmbeddedRedis, prefix: str
) -> None:
    """Four preparers and two cooks, each with a client of its own, share one small
    cabinet; records are replayed at random. A watcher checks the books at every
    instant. Every order is served exactly once, and nothing goes below zero."""
    rng = random.Random(7)
    settings = CabinetSettings(cod_batch=3, chips_batch=5, cod_threshold=2, chips_threshold=3)
    orders = {f"o{n}": portions(draw_parts(rng, plaice=True)) for n in range(300)}
    counter = iter(range(1_000_000))
    till: asyncio.Queue[tuple[int, str, bool]] = asyncio.Queue()
    kitchen: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for order in orders:
        till.put_nowait((next(counter), order, False))
    served: list[str] = []
    from_cabinet = 0
    sent_to_cook: list[str] = []
    connection = CabinetConnection(redis_server.url)

    async def preparer(name: str) -> None:
        nonlocal from_cabinet
        async with HotCabinet.connect(connection, prefix) as cabinet:
            while len(served) < len(orders):
                try:
                    offset, order, ready = till.get_nowait()
                except asyncio.QueueEmpty:
                    await asyncio.sleep(0.001)
                    continue
                if ready:
                    decision = await cabinet.serve_set_aside(at_preparer(offset), order)
                    assert decision.portions == orders[order]
                else:
                    decision = await cabinet.take(at_preparer(offset), order, orders[order])
                if rng.random() < 0.2:
                    if ready:
                        again = await cabinet.serve_set_aside(at_preparer(offset), order)
                    else:
                        again = await cabinet.take(at_preparer(offset), order, orders[order])
                    assert again == replace(decision, replayed=True)
                if decision.outcome is Outcome.SERVE:
                    served.append(order)
                    from_cabinet += not ready
                else:
                    sent_to_cook.append(order)
                    kitchen.put_nowait((next(counter), order))

    async def cook(name: str) -> None:
        async with HotCabinet.connect(connection, prefix) as cabinet:
            while len(served) < len(orders):
                try:
                    offset, order = kitchen.get_nowait()
                except asyncio.QueueEmpty:
                    await asyncio.sleep(0.001)
                    continue
                fried = await cabinet.fry(at_cook(offset), order, orders[order], settings)
                if rng.random() < 0.2:
                    again = await cabinet.fry(at_cook(offset), order, orders[order], settings)
                    assert again == replace(fried, replayed=True)
                till.put_nowait((next(counter), order, True))

    snapshots = 0

    async def watcher() -> None:
        nonlocal snapshots
        async with HotCabinet.connect(connection, prefix) as cabinet:
            while len(served) < len(orders):
                counts = await cabinet.counts()
                assert conservation_gaps(counts) == {}, counts
                assert all(min(counts[item]) >= 0 for item in ITEMS), counts
                snapshots += 1
                await asyncio.sleep(0)

    async with asyncio.timeout(60):
        await asyncio.gather(
            *(preparer(f"p{n}") for n in range(4)), *(cook(f"c{n}") for n in range(2)), watcher()
        )

    assert Counter(served) == Counter(list(orders))
    async with HotCabinet.connect(connection, prefix) as cabinet:
        counts = await cabinet.counts()
    assert conservation_gaps(counts) == {}
    for item in ITEMS:
        assert counts[item].served == sum(needed.get(item, 0) for needed in orders.values())
        assert counts[item].set_aside == 0
        assert min(counts[item]) >= 0
    assert from_cabinet > 0, "nothing was served from the cabinet: the race was never run"
    assert len(sent_to_cook) > 0
    assert snapshots > 10


async def test_every_key_stays_in_the_shops_hash_tag_slot(
    cabinet: HotCabinet, raw: Redis, prefix: str
) -> None:
    await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)
    await cabinet.fry(at_cook(0), "o1", COD_AND_CHIPS, CabinetSettings())
    await cabinet.serve_set_aside(at_preparer(1), "o1")
    await cabinet.fry(at_cook(1), "o2", PLAICE_AND_CHIPS, CabinetSettings())
    await cabinet.reset()
    await cabinet.fry(at_cook(2), "o3", PLAICE_AND_CHIPS, CabinetSettings())
    names = [name async for name in raw.scan_iter(match=f"*{prefix}*")]
    assert len(names) >= 5  # counts, set-aside, day, and records
    assert all(name.startswith("{" + prefix + "}:") for name in names), names
    assert {key_slot(name.encode()) for name in names} == {key_slot(prefix.encode())}


# -- Redis itself: persistence, outages, passwords ------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of the test's own, to kill and restart."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


async def test_a_sigkilled_redis_comes_back_with_every_count_and_decision(
    own_redis: EmbeddedRedis,
) -> None:
    async with HotCabinet.connect(CabinetConnection(own_redis.url), "fishshop.crash") as cabinet:
        await cabinet.fry(at_cook(0), "o1", PLAICE_AND_CHIPS, CabinetSettings())
        served = await cabinet.take(at_preparer(1), "o2", COD_AND_CHIPS)
        await cabinet.fry(at_cook(1), "o3", {"cod": 1}, CabinetSettings())
        before = await cabinet.counts()
        own_redis.kill()  # SIGKILL
        with pytest.raises(CabinetUnavailable):
            await cabinet.counts()

        own_redis.start()
        # The same cabinet carries on: the restarted Redis has lost its script
        # cache, not its data.
        assert await cabinet.counts() == before
        assert await cabinet.take(at_preparer(1), "o2", COD_AND_CHIPS) == Decision(
            served.outcome, served.portions, replayed=True
        )
        assert (await cabinet.fry(at_cook(0), "o1", PLAICE_AND_CHIPS, CabinetSettings())).replayed
        assert (await cabinet.serve_set_aside(at_preparer(2), "o1")).portions == PLAICE_AND_CHIPS
        assert conservation_gaps(await cabinet.counts()) == {}


async def test_redis_runs_with_an_append_only_file_synced_at_every_write(
    redis_server: EmbeddedRedis, raw: Redis
) -> None:
    assert await raw.config_get("appendonly") == {"appendonly": "yes"}
    assert await raw.config_get("appendfsync") == {"appendfsync": "always"}
    assert await raw.config_get("dir") == {"dir": str(redis_server.data_dir)}


async def test_redis_down_is_said_readably_in_fishshops_own_error() -> None:
    port = free_port()
    connection = CabinetConnection(f"redis://127.0.0.1:{port}/0", timeout_seconds=1)
    async with HotCabinet.connect(connection, "fishshop.down") as cabinet:
        for attempt in (
            cabinet.ping(),
            cabinet.counts(),
            cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS),
            cabinet.fry(at_cook(0), "o1", COD_AND_CHIPS, CabinetSettings()),
            cabinet.serve_set_aside(at_preparer(0), "o1"),
            cabinet.reset(),
        ):
            with pytest.raises(CabinetUnavailable) as down:
                await attempt
            message = str(down.value)
            assert f"Redis at redis://127.0.0.1:{port}/0 cannot be used" in message
            assert "Check that Redis runs there" in message


async def test_a_password_from_a_file_opens_a_guarded_redis_and_a_wrong_one_is_said(
    tmp_path: Path,
) -> None:
    with EmbeddedRedis(tmp_path / "redis", password="fry-tonight") as guarded:
        secret = tmp_path / "password"
        secret.write_text("fry-tonight\n")
        right = CabinetConnection(guarded.url, password_file=secret)
        async with HotCabinet.connect(right, "fishshop.guarded") as cabinet:
            await cabinet.ping()
            assert (await cabinet.take(at_preparer(0), "o1", COD_AND_CHIPS)).outcome is (
                Outcome.TO_COOK
            )
        for wrong in (
            CabinetConnection(guarded.url, password="fry-tomorrow"),
            CabinetConnection(guarded.url),
        ):
            async with HotCabinet.connect(wrong, "fishshop.guarded") as cabinet:
                with pytest.raises(CabinetUnavailable, match="the password") as refused:
                    await cabinet.counts()
                assert "fry-tomorrow" not in str(refused.value)


def test_a_missing_redis_server_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RedisStartError, match=r"apt-get install redis-server.*--redis-url"):
        EmbeddedRedis(tmp_path / "redis").start()


OWNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from fishshop_workers.embedded.redis import EmbeddedRedis

    server = EmbeddedRedis(Path(sys.argv[1]))
    server.start()
    print(server.pid, flush=True)
    time.sleep(600)
    """
)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the tie uses Linux's PR_SET_PDEATHSIG"
)
def test_the_embedded_redis_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path / "redis")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        redis_pid = int(owner.stdout.readline())
        assert not wait_gone(redis_pid, 0.3), "redis-server did not stay up"
        owner.kill()
        owner.wait()
        assert wait_gone(redis_pid, 5.0), "redis-server outlived the process that started it"
    finally:
        owner.kill()
        owner.wait()


# -- a shop that goes ---------------------------------------------------------------------


async def test_emptying_a_cabinet_removes_its_keys_and_no_other_shops(
    redis_server: EmbeddedRedis, prefix: str, raw: Redis
) -> None:
    """A deleted shop's cabinet leaves nothing in Redis; a neighbour whose prefix only
    looks like a pattern of it (glob characters) keeps every key."""
    neighbours = [f"{prefix}-next", f"{prefix}*", "fishshop.other"]
    for name in [prefix, *neighbours]:
        async with HotCabinet.connect(CabinetConnection(redis_server.url), name) as opened:
            await opened.reset()
            await stock(opened)
            await opened.take(at_preparer(1), "o1", COD_AND_CHIPS)
    mine = [key async for key in raw.scan_iter(match=f"{{{prefix}}}:*")]
    assert mine
    before = await raw.dbsize()
    async with HotCabinet.connect(CabinetConnection(redis_server.url), prefix) as opened:
        assert await opened.empty() == len(mine)
        assert await opened.empty() == 0
    assert [key async for key in raw.scan_iter(match=f"{{{prefix}}}:*")] == []
    assert await raw.dbsize() == before - len(mine)
