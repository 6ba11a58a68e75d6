"""The demo's live view: a Textual app with a panel per till, preparer and cook.

Keys hire and send home workers and open or close the shop; the header shows the
shop's numbers. Quitting closes the shop cleanly before the app exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import signal
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.drivers._writer_thread import WriterThread
from textual.widgets import Footer, Static

from fishshop.demo.boards.shop import crew_text, headline
from fishshop.demo.live_shop import LiveShop, Role, open_shop
from fishshop.demo.panels import AnalystPanel, CabinetPanel, StationPanel
from fishshop.demo.servers import DemoServers, say
from fishshop_workers.analyst.queries import AnalystReader
from fishshop_workers.audit.summary import Summary
from fishshop_workers.shop.spec import ShopSpec

__all__ = ["ShopView", "live_day", "run_live_view", "shop_notices"]


SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
"""Each closes the shop as the q key does, so nothing is left running."""


def _leave_the_terminal(app: App[Any]) -> None:
    """The terminal has gone (SIGHUP): draw into nothing from now on.

    Writing to a hung-up terminal fails, which ends Textual's output thread, and
    the app would then wait for that thread for ever while closing; the broker
    would outlive the demo. So the standard streams point at /dev/null, the
    driver's writes are dropped, its input thread stops, and Textual may no
    longer take the terminal back on SIGCONT.
    """
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    signal.signal(signal.SIGCONT, signal.SIG_DFL)
    driver = app._driver
    if driver is None:
        return
    stop_input = getattr(driver, "exit_event", None)
    if isinstance(stop_input, threading.Event):
        stop_input.set()
    driver.write = _drop  # type: ignore[method-assign]
    writer = getattr(driver, "_writer_thread", None)
    if isinstance(writer, WriterThread):
        driver._writer_thread = None  # type: ignore[attr-defined]
        with contextlib.suppress(queue.Full):
            writer._queue.put_nowait(None)  # ends it, if it still runs


def _drop(data: str) -> None:
    """Where the screen goes once the terminal has gone."""


ROWS: tuple[tuple[Role, str], ...] = (
    ("till", "No till: press t to open one."),
    ("preparer", "No preparer: orders wait in Kafka. Press p to hire one."),
    ("cook", "No cook: plaice is off the menu. Press c to hire one."),
)


class ShopView(App[Summary | None]):
    """Watch and change a running shop. The app's result is the closing summary."""

    TITLE = "fishshop"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #numbers {
        height: auto;
        padding: 0 1;
        background: $boost;
    }
    #notice { height: 1; padding: 0 1; color: $text-muted; }
    #floor { height: 1fr; }
    .row { height: 1fr; }
    .row.vacant { height: 5; }
    .empty { width: 1fr; height: 1fr; padding: 1 2; color: $text-muted;
             border: dashed $panel-lighten-2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "hire('till')", "till +"),
        Binding("T", "send_home('till')", "till -", key_display="T"),
        Binding("p", "hire('preparer')", "preparer +"),
        Binding("P", "send_home('preparer')", "preparer -", key_display="P"),
        Binding("c", "hire('cook')", "cook +"),
        Binding("C", "send_home('cook')", "cook -", key_display="C"),
        Binding("o", "open_or_close", "open/close"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        shop: LiveShop,
        refresh_seconds: float = 0.5,
        look_seconds: float = 1.0,
        analyst: AnalystReader | None = None,
    ) -> None:
        super().__init__()
        self.shop = shop
        self.analyst = analyst
        """Reads the analyst's table, for a shop whose served orders go to PostgreSQL."""
        self.refresh_seconds = refresh_seconds
        self.look_seconds = look_seconds
        self.closing = False
        self.closed = asyncio.Event()
        """Set once the shop has closed and the app is about to exit."""
        self.summary: Summary | None = None
        self._looking: asyncio.Task[None] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="numbers")
        yield Static(id="notice")
        with Horizontal(id="floor"):
            with Vertical(id="shop"):
                for role, _ in ROWS:
                    yield Horizontal(id=f"{role}s", classes="row")
            if self.shop.cabinet is not None:
                yield CabinetPanel(self.shop)
            if self.analyst is not None:
                yield AnalystPanel(self.analyst)
        yield Footer()

    async def on_mount(self) -> None:
        self.title = f"fishshop · {self.shop.spec.name}"
        self._looking = asyncio.create_task(self._keep_looking(), name="shop-numbers")
        await self.show_shop()
        self.set_interval(self.refresh_seconds, self.show_shop)

    async def _keep_looking(self) -> None:
        """Read the shop's numbers from Kafka, once a second, until the shop closes."""
        while not self.closing:
            try:
                await self.shop.look()
            except Exception as error:  # noqa: BLE001 - the view must outlive a bad read
                self.shop.notice(f"could not read the shop's numbers: {error}")
            await asyncio.sleep(self.look_seconds)

    async def show_shop(self) -> None:
        """Redraw the header and panels; mount and remove panels as the crew changes."""
        numbers = self.shop.numbers
        lines = headline(numbers)
        text = Text(lines[0], style="bold")
        for line in lines[1:]:
            text.append("\n" + line)
        self.query_one("#numbers", Static).update(text)
        notices = self.shop.notices
        self.query_one("#notice", Static).update(notices[-1] if notices else "")
        for role, empty in ROWS:
            await self._show_row(role, empty)
        for cabinet in self.query(CabinetPanel):
            cabinet.show()

    async def _show_row(self, role: Role, empty: str) -> None:
        row = self.query_one(f"#{role}s", Horizontal)
        stations = [s for s in self.shop.stations if s.role == role]
        shown = [child.station for child in row.children if isinstance(child, StationPanel)]
        if stations != shown or (not stations and not row.children):
            row.set_class(not stations, "vacant")
            await row.remove_children()
            if stations:
                await row.mount_all([StationPanel(s) for s in stations])
            else:
                await row.mount(Static(empty, classes="empty"))
        for panel in self.panels(role):
            panel.show()

    def panels(self, role: Role | None = None) -> Iterator[StationPanel]:
        """The panels on screen, tills first, then preparers, then cooks."""
        for row_role, _ in ROWS:
            if role is None or role == row_role:
                yield from self.query_one(f"#{row_role}s", Horizontal).query(StationPanel)

    async def action_hire(self, role: Role) -> None:
        if self.closing:
            return
        station = self.shop.hire(role)
        self.shop.notice(f"{role} {station.number} started")
        await self.show_shop()

    async def action_send_home(self, role: Role) -> None:
        if self.closing:
            return
        station = self.shop.send_home(role)
        if station is not None:
            self.shop.notice(f"{role} {station.number} is going home")
        await self.show_shop()

    async def action_open_or_close(self) -> None:
        if self.closing:
            return
        self.shop.toggle()
        await self.show_shop()

    async def action_quit(self) -> None:
        """Close the shop cleanly, then exit; the panels show it closing."""
        if self.closing:
            return
        self.closing = True
        if self._looking is not None:
            self._looking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._looking
        self.run_worker(self._close(), name="closing", exit_on_error=False)

    async def _close(self) -> None:
        try:
            self.summary = await self.shop.stop()
        finally:
            self.closed.set()
            self.exit(self.summary)


class _NoticeHandler(logging.Handler):
    """Log records become the shop's notices: a log line would tear the screen."""

    def __init__(self, shop: LiveShop) -> None:
        super().__init__(logging.WARNING)
        self.shop = shop

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.shop.notice(record.getMessage())


@contextlib.contextmanager
def shop_notices(shop: LiveShop) -> Iterator[None]:
    """While the view runs, warnings go to the header instead of the terminal."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [_NoticeHandler(shop)]
    try:
        yield
    finally:
        root.handlers = saved


async def run_live_view(
    shop: LiveShop, analyst: AnalystReader | None = None
) -> tuple[Summary, int]:
    """Run the view on a started shop until the person quits (or SIGTERM, SIGINT,
    or SIGHUP when the terminal goes away); ``analyst`` adds the analyst panel.

    Returns the closing summary and the app's return code (0 unless the view
    itself failed); the shop is stopped whatever happens.
    """
    app = ShopView(shop, analyst=analyst)
    loop = asyncio.get_running_loop()

    def terminate() -> None:
        app.call_later(app.action_quit)

    def hang_up() -> None:
        _leave_the_terminal(app)
        terminate()

    for sig in SIGNALS:
        loop.add_signal_handler(sig, hang_up if sig == signal.SIGHUP else terminate)
    try:
        with shop_notices(shop):
            await app.run_async()
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
        summary = app.summary if app.summary is not None else await shop.stop()
    return summary, app.return_code or 0


async def live_day(
    spec: ShopSpec, servers: DemoServers, *, seed: int | None = None
) -> tuple[Summary, int]:
    """Open the shop on ``servers`` and run the live view until the person quits;
    queued orders stay safe in Kafka. The closing summary and the view's return code."""
    crew = crew_text(spec, analyst=servers.analyst is not None)
    say(f"opening shop {spec.name!r}: {crew}...")
    async with open_shop(spec, servers, seed=seed) as (shop, sink):
        reader = None if sink is None else AnalystReader(sink.analyst.postgres_url, sink.shop)
        try:
            return await run_live_view(shop, reader)
        finally:
            if reader is not None:
                await reader.close()
