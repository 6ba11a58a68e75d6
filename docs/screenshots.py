"""Save an SVG of the live view for each of the talk's scenarios.

Runs every scenario on the embedded broker (or on ``--bootstrap-servers``) for
some seconds, with the same Textual app that ``fishshop demo`` opens, then saves
what the screen shows to ``docs/screenshots/<scenario>.svg``. The hot cabinet
gets a local redis-server (or ``--redis-url``); the analyst a local PostgreSQL and
Kafka Connect worker with the shop's sink connector. ``make screenshots`` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from pathlib import Path

from fishshop.demo.live_shop import open_shop
from fishshop.demo.scenarios import ANALYST_SCENARIOS, SCENARIOS, scenario
from fishshop.demo.servers import DemoServers, GivenServers, demo_servers
from fishshop.demo.view import ShopView
from fishshop_workers.analyst.queries import AnalystReader
from fishshop_workers.cabinet.connection import CabinetConnection

OUT = Path(__file__).resolve().parent / "screenshots"
SIZE = (150, 44)
KEYS = {"two-preparers": "p"}
"""Keys pressed half way through, to show what the scenario teaches: a third
preparer joins and the group rebalances."""
LONGER = {"analyst": 120.0}
"""Seconds a scenario needs at least: the analyst's charts fill a column in 10 s."""


async def shoot(name: str, servers: DemoServers, seconds: float, out: Path) -> Path:
    spec = scenario(name)
    seconds = max(seconds, LONGER.get(name, 0.0))
    if name not in ANALYST_SCENARIOS:
        servers = dataclasses.replace(servers, analyst=None)
    async with open_shop(spec, servers, seed=1) as (shop, sink):
        reader = None if sink is None else AnalystReader(sink.analyst.postgres_url, sink.shop)
        app = ShopView(shop, analyst=reader)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause(seconds / 2)
                await pilot.press(*KEYS.get(name, ""))
                await pilot.pause(seconds / 2)
                path = Path(app.save_screenshot(f"{name}.svg", str(out)))
                await pilot.press("q")
                await asyncio.wait_for(app.closed.wait(), 60)
        finally:
            if reader is not None:
                await reader.close()
    return path


async def shoot_all(servers: DemoServers, names: list[str], seconds: float, out: Path) -> None:
    for name in names:
        print(
            f"screenshots: {name} for {max(seconds, LONGER.get(name, 0)):.0f}s...", file=sys.stderr
        )
        path = await shoot(name, servers, seconds, out)
        print(f"screenshots: {path}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="default: all")
    parser.add_argument("--seconds", type=float, default=25.0, help="how long each shop runs")
    parser.add_argument("--bootstrap-servers", help="a Kafka to use instead of the embedded one")
    parser.add_argument("--redis-url", help="a Redis for the hot cabinet instead of a local one")
    parser.add_argument("--postgres-url", help="a PostgreSQL for the analyst's table")
    parser.add_argument("--connect-url", help="a Kafka Connect with Debezium's JDBC sink")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the SVG files")
    args = parser.parse_args()
    unknown = sorted(set(args.scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"no scenario {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # retries it handles itself
    names = args.scenarios or list(SCENARIOS)
    given = GivenServers(
        args.bootstrap_servers,
        CabinetConnection(args.redis_url) if args.redis_url else None,
        args.postgres_url,
        args.connect_url,
    )
    with demo_servers(
        given,
        cabinet=any(scenario(name).hot_cabinet for name in names),
        analyst=bool(set(names) & ANALYST_SCENARIOS),
        connect_group="fishshop-screenshots",
    ) as servers:
        args.out.mkdir(parents=True, exist_ok=True)
        asyncio.run(shoot_all(servers, names, args.seconds, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
