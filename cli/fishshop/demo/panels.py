"""The live view's panels: one per worker, the hot cabinet's and the analyst's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from fishshop.demo.boards.cabinet import balance_line, books_lines, stock_lines
from fishshop.demo.boards.shop import station_title
from fishshop.demo.crew import Station
from fishshop_workers.analyst.panel import AnalystSnapshot, analyst_lines
from fishshop_workers.analyst.queries import AnalystReader
from fishshop_workers.analyst.store import AnalystStoreError
from fishshop_workers.cabinet.decisions import CabinetCounts, conservation_gaps

if TYPE_CHECKING:
    from fishshop.demo.live_shop import LiveShop

__all__ = ["AnalystPanel", "CabinetPanel", "StationPanel", "line_style"]


class StationPanel(Static):
    """One worker: its title (what it owns) and its latest lines, newest last."""

    DEFAULT_CSS = """
    StationPanel {
        width: 1fr;
        height: 1fr;
        padding: 0 1;
        border: round $secondary;
        border-title-style: bold;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    StationPanel.till { border: round $primary; }
    StationPanel.preparer { border: round $success; }
    StationPanel.cook { border: round $warning; }
    StationPanel.away { color: $text-muted; border: round $panel-lighten-2; }
    """

    def __init__(self, station: Station) -> None:
        super().__init__(classes=station.role)
        self.station = station

    def show(self) -> None:
        station = self.station
        self.border_title = station_title(
            station.role, station.number, station.partitions, station.state
        )
        self.set_class(bool(station.state), "away")
        room = max(1, self.size.height)
        text = Text()
        for n, line in enumerate(list(station.lines)[-room:]):
            text.append(("\n" if n else "") + line, style=line_style(line))
        self.update(text)


def line_style(line: str) -> str:
    """What the eye should catch: the shop's own remarks are quiet, plaice on its
    way to the cook stands out, a served order is plain."""
    if line.startswith("·"):
        return "italic dim"
    if "cook" in line.split(":", 1)[0]:
        return "yellow"
    return ""


class CabinetPanel(Static):
    """The hot cabinet: portions in it now, the books of the day, and the latest
    batches fried and orders served from it, newest last."""

    DEFAULT_CSS = """
    CabinetPanel {
        width: 46;
        height: 1fr;
        padding: 0 1;
        border: round $error;
        border-title-style: bold;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, shop: LiveShop) -> None:
        super().__init__(id="cabinet")
        self.shop = shop

    def show(self) -> None:
        shop = self.shop
        self.border_title = "Hot cabinet"
        if shop.cabinet is not None:
            self.border_subtitle = shop.cabinet.where
        counts = shop.cabinet_counts or CabinetCounts()
        text = Text("in the cabinet now", style="bold")
        for line in stock_lines(counts, shop.cabinet_settings):
            text.append("\n" + line)
        text.append("\n\nsince the start of the day", style="bold")
        for line in books_lines(counts):
            text.append("\n" + line)
        gaps = {str(item): gap for item, gap in conservation_gaps(counts).items()}
        text.append("\n" + balance_line(gaps), style="bold red" if gaps else "green")
        text.append("\n\nlatest", style="bold")
        room = max(0, self.size.height - len(text.plain.splitlines()))
        for line in list(shop.cabinet_news)[-room:] if room else []:
            text.append("\n" + line, style=line_style(line))
        self.update(text)


class AnalystPanel(Static):
    """The analyst's view of the day, read from PostgreSQL (what Kafka Connect has
    written so far): orders per minute and the customers' wait as charts, the best
    sellers and the cook's share."""

    DEFAULT_CSS = """
    AnalystPanel {
        width: 46;
        height: 1fr;
        padding: 0 1;
        border: round $accent;
        border-title-style: bold;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, reader: AnalystReader, read_seconds: float = 2.0) -> None:
        super().__init__(id="analyst")
        self.reader = reader
        self.read_seconds = read_seconds
        self.snapshot: AnalystSnapshot | None = None
        self.trouble = ""
        """Why the last read failed; empty when it worked."""

    async def on_mount(self) -> None:
        self.border_title = "Analyst · PostgreSQL"
        self.border_subtitle = self.reader.where
        self.set_interval(self.read_seconds, self.read)
        self.call_later(self.read)

    async def read(self) -> None:
        """Read the table once; a failure is shown and the next read tries again."""
        try:
            self.snapshot = await self.reader.look(max(4, self.size.width - 5))
            self.trouble = ""
        except AnalystStoreError as error:
            self.trouble = str(error)
        self.show()

    def show(self) -> None:
        snapshot = self.snapshot
        if snapshot is not None:
            self.border_subtitle = f"{snapshot.rows} rows · {self.reader.where}"
        lines = (
            ["reading the analyst's table..."]
            if snapshot is None
            else analyst_lines(snapshot, width=self.size.width, height=self.size.height - 1)
        )
        text = Text()
        chart = ""
        for n, line in enumerate(lines):
            if "│" in line:
                style = chart
            else:
                chart = _analyst_style(line)
                style = "bold" if chart or line.startswith("best sellers") else ""
            text.append(("\n" if n else "") + line, style=style)
        if self.trouble:
            text.append("\n" + self.trouble, style="bold red")
        self.update(text)


def _analyst_style(title: str) -> str:
    """The colour of the chart under a title line: the rate one way, the wait another."""
    if title.startswith("orders per minute"):
        return "cyan"
    if title.startswith("wait"):
        return "magenta"
    return ""
