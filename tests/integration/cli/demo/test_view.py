"""The live view, driven by Textual's pilot against the real broker: panels
appear, orders scroll, keys change the crew and the panels follow, quit is clean."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from fishshop.demo.analyst import sink_for_the_day
from fishshop.demo.live_shop import LiveShop, Role
from fishshop.demo.panels import AnalystPanel, CabinetPanel, StationPanel
from fishshop.demo.servers import DemoAnalyst
from fishshop.demo.view import ShopView
from fishshop_workers.analyst.queries import AnalystReader
from fishshop_workers.analyst.store import row_count
from fishshop_workers.audit.summary import Summary
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.embedded.connect import EmbeddedConnect
from fishshop_workers.embedded.postgres import EmbeddedPostgres
from fishshop_workers.embedded.redis import EmbeddedRedis
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.roles.till import Till
from fishshop_workers.shop.topics import default_prefix
from tests.support.demo import quick_shop

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SIZE = (160, 48)
TILL_1 = "Till 1 → partition 0"
BOTH = "Preparer 1 · partitions 0, 1"


@pytest.fixture
async def shop(kafka: KafkaSettings, shop_name: str) -> AsyncIterator[LiveShop]:
    live = LiveShop(quick_shop(shop_name), kafka, seed=5)
    await live.start()
    yield live
    await live.stop()  # a test that failed half way still stops every worker


async def until(pilot: Pilot[Summary | None], what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.2)


def titles(app: ShopView, role: Role) -> list[str]:
    return [str(panel.border_title) for panel in app.panels(role)]


def plaice_on_menu(shop: LiveShop) -> list[bool]:
    return [s.worker.settings.plaice for s in shop.crew("till") if isinstance(s.worker, Till)]


def shown(panel: StationPanel) -> list[str]:
    """The lines the panel shows right now."""
    return str(panel.content).splitlines()


def header(app: ShopView) -> str:
    return str(app.query_one("#numbers", Static).content)


def owned(title: str) -> set[int]:
    """Partitions named in a preparer's title: ``Preparer 1 · partitions 0, 2``."""
    if "· partition" not in title:
        return set()
    listed = title.split("· partition", 1)[1].lstrip("s").split("·")[0]
    return {int(p) for p in listed.split(",")}


async def quit_cleanly(app: ShopView, pilot: Pilot[Summary | None]) -> Summary:
    await pilot.press("q")
    await asyncio.wait_for(app.closed.wait(), 60)
    await pilot.pause(0.2)
    assert app.summary is not None
    return app.summary


async def test_panels_appear_orders_scroll_and_quit_is_clean(shop: LiveShop) -> None:
    app = ShopView(shop, refresh_seconds=0.2, look_seconds=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, "a till and a preparer panel", lambda: len(list(app.panels())) == 2)
        till, preparer = list(app.panels())
        await until(pilot, "the till's title", lambda: titles(app, "till") == [TILL_1])
        await until(pilot, "orders at the till", lambda: " · #" in str(till.content))
        await until(pilot, "orders served", lambda: "✓ till " in str(preparer.content))
        await until(pilot, "a full till panel", lambda: len(shown(till)) >= till.size.height)
        before = shown(till)
        await until(pilot, "the till panel to scroll", lambda: shown(till)[0] != before[0])
        # Newest last, in the till's own order.
        numbers = [
            int(line.split(" · #", 1)[1].split(":")[0]) for line in shown(till) if " · #" in line
        ]
        assert numbers == sorted(numbers) and len(numbers) >= 3
        assert any(line.startswith("p0 ✓ till ") for line in shown(preparer))
        await until(pilot, "the rates", lambda: "taken -" not in header(app))
        text = header(app)
        assert f"{shop.spec.name} · OPEN · 1 till · 1 preparer · 0 cooks · 2 partitions" in text
        assert "/min" in text and "wait p50 " in text and "queue p0 " in text and "p1 " in text
        assert not app.query(CabinetPanel), "a shop without a cabinet shows none"
        summary = await quit_cleanly(app, pilot)
    assert app.return_code == 0
    assert summary.orders_served > 0
    assert summary.duplicates == 0 and summary.served_unknown == 0
    assert all(not s.working for s in shop.stations)
    workers = [t for t in asyncio.all_tasks() if t.get_name().startswith(("till-", "preparer-"))]
    assert workers == []


async def test_preparers_join_and_leave_and_the_group_rebalances(shop: LiveShop) -> None:
    app = ShopView(shop, refresh_seconds=0.2, look_seconds=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot,
            "preparer 1 to own both partitions",
            lambda: titles(app, "preparer") == [BOTH],
        )
        await pilot.press("p")
        await until(pilot, "a second preparer panel", lambda: len(titles(app, "preparer")) == 2)

        def shared() -> bool:
            first, second = (owned(t) for t in titles(app, "preparer"))
            return bool(first) and bool(second) and first | second == {0, 1}

        await until(pilot, "the two preparers to share the partitions", shared)
        second = list(app.panels("preparer"))[1]
        await until(
            pilot, "preparer 2 to say what it owns", lambda: "now owns" in str(second.content)
        )
        await pilot.press("P")
        await until(
            pilot,
            "preparer 2 to go and preparer 1 to own both partitions again",
            lambda: titles(app, "preparer") == [BOTH],
        )
        assert [s.number for s in shop.stations if s.role == "preparer"] == [1]
        served = shop.numbers.served
        await until(pilot, "orders still served", lambda: shop.numbers.served > served + 3)
        summary = await quit_cleanly(app, pilot)
    assert app.return_code == 0
    assert summary.duplicates == 0


async def test_tills_cooks_and_opening_hours_change_live(shop: LiveShop) -> None:
    app = ShopView(shop, refresh_seconds=0.2, look_seconds=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, "till 1", lambda: titles(app, "till") == [TILL_1])
        await pilot.press("t")
        await until(
            pilot,
            "till 2 on the other partition",
            lambda: titles(app, "till") == [TILL_1, "Till 2 → partition 1"],
        )
        await until(
            pilot,
            "orders from partition 1 served",
            lambda: "p1 ✓ till " in str(next(app.panels("preparer")).content),
        )
        await pilot.press("T")
        await until(pilot, "till 2 to go", lambda: titles(app, "till") == [TILL_1])

        assert "No cook" in str(app.query_one("#cooks").children[0].render())
        await pilot.press("c")
        cooking = ["Cook 1 · partitions 0, 1"]
        await until(pilot, "a cook panel", lambda: titles(app, "cook") == cooking)
        assert plaice_on_menu(shop) == [True]
        cook = next(app.panels("cook"))
        await until(pilot, "plaice cooked", lambda: "cooked, back to p0" in str(cook.content))
        preparer = next(app.panels("preparer"))
        await until(pilot, "plaice to the cook", lambda: "to the cook" in str(preparer.content))
        await until(pilot, "plaice served", lambda: "ready, cooked" in str(preparer.content))
        await pilot.press("C")
        await until(pilot, "the cook to go", lambda: titles(app, "cook") == [])
        assert plaice_on_menu(shop) == [False]

        await pilot.press("o")
        await until(pilot, "the shop to close", lambda: "· CLOSED ·" in header(app))
        closed = [f"{TILL_1} · closed"]
        await until(pilot, "till 1 to stop", lambda: titles(app, "till") == closed)
        await shop.look()  # from here on, every count began after the till stopped
        await until(pilot, "the queue to empty", lambda: not any(shop.numbers.queue.values()))
        taken = shop.numbers.taken
        await pilot.pause(1.5)
        assert shop.numbers.taken == taken, "a closed shop took orders"
        await pilot.press("o")
        await until(pilot, "the shop to open", lambda: "· OPEN ·" in header(app))
        await until(pilot, "orders again", lambda: shop.numbers.taken > taken)
        assert titles(app, "till") == [TILL_1]
        summary = await quit_cleanly(app, pilot)
    assert app.return_code == 0
    assert summary.duplicates == 0


async def test_a_second_preparer_gets_no_partition_of_one_and_ctrl_q_quits(
    kafka: KafkaSettings, shop_name: str
) -> None:
    shop = LiveShop(quick_shop(shop_name, partitions=1), kafka, seed=3)
    await shop.start()
    try:
        app = ShopView(shop, refresh_seconds=0.2, look_seconds=0.5)
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot, "preparer 1", lambda: titles(app, "preparer") == ["Preparer 1 · partition 0"]
            )
            await pilot.press("p")

            def one_idle() -> bool:
                # Either may win the one partition in the rebalance.
                owners = sorted(t.split(" · ", 1)[-1] for t in titles(app, "preparer"))
                return owners == ["no partitions", "partition 0"]

            await until(pilot, "one preparer to stand idle", one_idle)
            await pilot.press("ctrl+q")
            await asyncio.wait_for(app.closed.wait(), 60)
        assert app.return_code == 0
    finally:
        await shop.stop()


@pytest.fixture
async def cabinet(redis_server: EmbeddedRedis, shop_name: str) -> AsyncIterator[HotCabinet]:
    connection = CabinetConnection(redis_server.url)
    async with HotCabinet.connect(connection, default_prefix(shop_name)) as opened:
        yield opened


async def test_the_hot_cabinet_panel_shows_its_portions_batches_and_orders_served_from_it(
    kafka: KafkaSettings, shop_name: str, cabinet: HotCabinet
) -> None:
    fryer = CabinetSettings(cod_batch=6, chips_batch=12, cod_threshold=3, chips_threshold=6)
    spec = dataclasses.replace(quick_shop(shop_name, cooks=1), hot_cabinet=fryer)
    shop = LiveShop(spec, kafka, seed=5, cabinet=cabinet)
    await shop.start()
    try:
        app = ShopView(shop, refresh_seconds=0.2, look_seconds=0.5)
        async with app.run_test(size=SIZE) as pilot:
            panel = app.query_one(CabinetPanel)

            def says(words: str) -> Callable[[], bool]:
                return lambda: words in str(panel.content)

            await until(pilot, "the morning's empty cabinet", says("the cabinet is empty"))
            await until(pilot, "a batch of cod", says("▲ the cook fried a batch: 6 cod"))
            await until(pilot, "a batch of chips", says("▲ the cook fried a batch: 12 chips"))
            await until(pilot, "an order served from the cabinet", says("✓ till "))
            assert panel.border_title == "Hot cabinet"
            assert str(panel.border_subtitle) == cabinet.where
            text = str(panel.content)
            assert "in the cabinet now" in text and "fried to order" in text
            assert "✓ fried = served + cabinet + set aside" in text
            books = next(line for line in text.splitlines() if line.startswith("cod "))
            assert "█" in books or "░" in books
            # The preparers' own panels go on as in any shop.
            assert "✓ till " in "".join(str(p.content) for p in app.panels("preparer"))
            summary = await quit_cleanly(app, pilot)
        assert app.return_code == 0
        assert summary.duplicates == 0
        assert summary.cabinet is not None and summary.cabinet_gaps == {}
        assert summary.cabinet_kafka_gaps == {}
        # The order seen "from the cabinet" took cod, chips or both from it.
        assert summary.cabinet["cod"]["served"] + summary.cabinet["chips"]["served"] > 0
    finally:
        await shop.stop()


async def test_the_analyst_panel_charts_what_kafka_connect_wrote_to_postgresql(
    kafka: KafkaSettings,
    shop_name: str,
    postgres_server: EmbeddedPostgres,
    connect_worker: EmbeddedConnect,
) -> None:
    """A real sink connector on a real Connect worker fills the table while the shop
    runs; the panel reads it: both charts drawn, best sellers, the cook's share."""
    spec = quick_shop(shop_name, cooks=1)
    analyst = DemoAnalyst(postgres_server.url, connect_worker.url, delete_connector=True)
    async with sink_for_the_day(analyst, spec, kafka) as sink:
        assert sink is not None
        shop = LiveShop(spec, kafka, seed=5)
        await shop.start()
        reader = AnalystReader(postgres_server.url, sink.shop)
        try:
            app = ShopView(shop, refresh_seconds=0.2, look_seconds=0.5, analyst=reader)
            async with app.run_test(size=(100, 30)) as pilot:
                panel = app.query_one(AnalystPanel)
                panel.read_seconds = 0.5
                assert panel.border_title == "Analyst · PostgreSQL"

                def shown() -> str:
                    return str(panel.content)

                def charted() -> bool:
                    lines = shown().splitlines()
                    drawn = [line for line in lines if "│" in line and line.rstrip()[-1] != "│"]
                    return "orders per minute" in shown() and len(drawn) >= 2

                await until(
                    pilot, "rows in PostgreSQL", lambda: "rows ·" in str(panel.border_subtitle)
                )
                await until(pilot, "both charts drawn", charted)
                await until(pilot, "plaice sold", lambda: "plaice " in shown())
                text = shown()
                assert "customers' wait, p50 in s" in text
                assert "best sellers (portions)" in text
                assert "cook's share: " in text and "% of orders" in text
                sellers = [
                    line.split()
                    for line in text.splitlines()
                    if line.split() and line.split()[0] in {"cod", "chips", "plaice"}
                ]
                counts = [int(words[-1]) for words in sellers]
                assert counts == sorted(counts, reverse=True), "the best seller first"
                assert panel.size.width <= 44, "the panel leaves room for the shop"
                assert max(len(line) for line in text.splitlines()) <= panel.size.width
                summary = await quit_cleanly(app, pilot)
            assert app.return_code == 0
            assert summary.duplicates == 0
        finally:
            await reader.close()
            await shop.stop()
    assert row_count(postgres_server.url, sink.shop) > 0
