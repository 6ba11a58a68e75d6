"""The headless demo on the real broker: the live shop opened for a while, closed,
drained and audited, with the same workers the live view drives."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from fishshop.demo.headless import headless_day
from fishshop.demo.servers import DemoServers
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.embedded.redis import EmbeddedRedis
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.roles.till import Till
from tests.support.demo import quick_shop

pytestmark = [pytest.mark.broker, pytest.mark.slow]

WORKERS = ("till-", "preparer-", "cook-")


def workers_left() -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith(WORKERS)]


async def test_the_day_is_opened_drained_and_audited(
    kafka: KafkaSettings, shop_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = quick_shop(shop_name, tills=2, cooks=1)
    summary, from_cabinet = await headless_day(
        spec, DemoServers(kafka), duration=4, drain_timeout=60, seed=7, tick_seconds=1
    )
    assert summary.orders_created > 0
    assert summary.orders_served == summary.orders_created, "drained: nothing left queued"
    assert summary.unserved == 0 and summary.duplicates == 0
    assert summary.served_uncooked == 0
    assert from_cabinet is None, "no cabinet, nothing served from it"
    assert workers_left() == [], "every worker went home"
    said = capsys.readouterr().err
    assert f"shop {shop_name!r} open for 4s: 2 tills, 1 preparer, 1 cook, 2 partitions" in said
    assert said.count("  taken ") >= 3, "progress every second"


async def test_a_day_with_a_hot_cabinet_balances_its_books(
    kafka: KafkaSettings, shop_name: str, redis_server: EmbeddedRedis
) -> None:
    fryer = CabinetSettings(cod_batch=6, chips_batch=12, cod_threshold=3, chips_threshold=6)
    spec = dataclasses.replace(quick_shop(shop_name, cooks=1), hot_cabinet=fryer)
    servers = DemoServers(kafka, CabinetConnection(redis_server.url))
    summary, from_cabinet = await headless_day(
        spec, servers, duration=5, drain_timeout=60, seed=3, tick_seconds=1
    )
    assert summary.clean
    assert summary.cabinet is not None
    assert summary.cabinet_gaps == {} and summary.cabinet_kafka_gaps == {}
    assert from_cabinet is not None and from_cabinet.orders > 0
    assert from_cabinet.portions["cod"] <= summary.cabinet["cod"]["served"]


async def test_a_worker_that_fails_ends_the_day_with_its_error(
    kafka: KafkaSettings, shop_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def jammed(self: Till, stop: asyncio.Event) -> None:
        await asyncio.sleep(0.5)
        raise RuntimeError("the till's drawer is jammed")

    monkeypatch.setattr(Till, "run", jammed)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RuntimeError, match="drawer is jammed"):
        await headless_day(quick_shop(shop_name), DemoServers(kafka), duration=60, drain_timeout=60)
    assert loop.time() - started < 30, "the error ends the day at once, not after it"
    assert workers_left() == [], "the rest of the crew went home"
