"""``fishshop demo``: a whole shop on this machine, with the live view or headless."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import yaml

from fishshop.demo.scenarios import ANALYST_SCENARIOS, SCENARIOS, scenario
from fishshop.demo.servers import DemoServers, GivenServers, demo_servers
from fishshop.errors import UsageError
from fishshop.options import (
    Subparsers,
    cabinet_connection,
    cabinet_options,
    kafka_options,
    kafka_settings,
    option,
    seconds,
    whole,
)
from fishshop.signals import stop_like_ctrl_c, until_signalled
from fishshop_workers.shop.spec import KIND, ShopSpec, read_manifest

__all__ = ["register", "run"]

"""The manifest kind a ``-f`` file must hold one of."""


def register(commands: Subparsers) -> None:
    parser = commands.add_parser("demo", help="run a whole shop locally")
    which = parser.add_mutually_exclusive_group()
    option(
        which,
        "--scenario",
        default="two-preparers",
        choices=list(SCENARIOS),
        help="one of the talk's demos",
    )
    option(which, "--file", short="-f", type=Path, help="a FishShop manifest to run")
    kafka_options(parser, required=False)
    option(
        parser,
        "--duration",
        type=seconds(above_zero=True),
        default=30.0,
        help="seconds the shop stays open when headless (the live view runs until you quit)",
    )
    option(
        parser,
        "--drain-timeout",
        type=seconds(),
        default=120.0,
        help="seconds to wait for the queue to empty after closing",
    )
    option(
        parser,
        "--headless",
        action="store_true",
        help="no live view (the default without a terminal); print progress and the summary",
    )
    option(parser, "--json", action="store_true", help="print the summary as JSON")
    option(parser, "--seed", type=whole(0), help="seed for the customers' choices")
    cabinet_options(
        parser,
        "For a shop with a hot cabinet (--scenario hot-cabinet): where the cabinet lives. "
        "The password may also come from FISHSHOP_REDIS_PASSWORD.",
        without_url="start a local redis-server for the demo's lifetime",
    )
    analyst = parser.add_argument_group(
        "analyst (Kafka Connect and PostgreSQL)",
        "For --scenario analyst: served orders flow through a Kafka Connect JDBC sink "
        "into PostgreSQL, and the live view charts them.",
    )
    option(
        analyst,
        "--postgres-url",
        metavar="URL",
        help="postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
        "(default: start a local PostgreSQL for the demo's lifetime)",
    )
    option(
        analyst,
        "--connect-url",
        metavar="URL",
        help="a Kafka Connect cluster's REST API with Debezium's JDBC sink installed "
        "(default: start a local Connect worker for the demo's lifetime)",
    )


def run(args: argparse.Namespace) -> int:
    spec = demo_spec(args)
    connection = cabinet_connection(args)
    if spec.hot_cabinet is None and connection is not None:
        print(
            f"fishshop: shop {spec.name!r} has no hot cabinet: Redis is not used", file=sys.stderr
        )
        connection = None
    wants_analyst = bool(args.postgres_url) or (
        args.file is None and args.scenario in ANALYST_SCENARIOS
    )
    if args.connect_url and not wants_analyst:
        print(
            f"fishshop: shop {spec.name!r} has no analyst (--scenario analyst or "
            "--postgres-url): Kafka Connect is not used",
            file=sys.stderr,
        )
    if wants_analyst and not args.connect_url and (args.certs_dir or args.sasl_mechanism):
        raise UsageError(
            "the local Kafka Connect worker speaks to Kafka in plain text only: "
            "pass --connect-url for a Connect cluster set up for this Kafka"
        )
    given = GivenServers(args.bootstrap_servers, connection, args.postgres_url, args.connect_url)
    with demo_servers(
        given,
        cabinet=spec.hot_cabinet is not None,
        analyst=wants_analyst,
        connect_group=f"fishshop-demo-{spec.name}",
        kafka=lambda bootstrap: kafka_settings(args, bootstrap),
    ) as servers:
        try:
            if wants_live_view(args):
                return _live(spec, servers, args)
            return _headless(spec, servers, args)
        finally:
            stop_like_ctrl_c()  # asyncio.run reset them; the servers stop next


def demo_spec(args: argparse.Namespace) -> ShopSpec:
    """The shop to run: the scenario's, or the one FishShop in ``--file``."""
    if args.file is None:
        return scenario(args.scenario)
    try:
        documents = list(yaml.safe_load_all(args.file.read_text(encoding="utf-8")))
    except UnicodeDecodeError as error:
        raise UsageError(
            f"cannot read {args.file}: it is not UTF-8 text (byte {error.start}); "
            "a FishShop manifest is YAML"
        ) from None
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"cannot read {args.file}: {error}") from error
    shops = [d for d in documents if isinstance(d, dict) and d.get("kind") == KIND]
    if len(shops) != 1:
        raise UsageError(f"{args.file} must hold exactly one {KIND}, found {len(shops)}")
    return read_manifest(shops[0])


def wants_live_view(args: argparse.Namespace) -> bool:
    """The live view needs a terminal to read keys from and to draw on (Textual
    draws on stderr; the summary goes to stdout)."""
    if args.headless or args.json or os.environ.get("TERM") == "dumb":
        return False
    return all(stream.isatty() for stream in (sys.stdin, sys.stdout, sys.stderr))


def _headless(spec: ShopSpec, servers: DemoServers, args: argparse.Namespace) -> int:
    from fishshop.demo.headless import headless_day
    from fishshop.summary import print_demo_summary

    day = headless_day(
        spec,
        servers,
        duration=args.duration,
        drain_timeout=args.drain_timeout,
        seed=args.seed,
    )
    summary, from_cabinet = asyncio.run(until_signalled(day))
    print("fishshop: shop closed and drained", file=sys.stderr)
    print_demo_summary(summary, from_cabinet, args.json)
    return 0 if summary.clean else 1


def _live(spec: ShopSpec, servers: DemoServers, args: argparse.Namespace) -> int:
    """The live view until the person quits; queued orders stay safe in Kafka."""
    from fishshop.demo.view import live_day
    from fishshop.summary import print_closing

    summary, view_code = asyncio.run(live_day(spec, servers, seed=args.seed))
    print_closing(spec.name, summary)
    if view_code:
        return view_code
    faults = summary.duplicates + summary.served_unknown + summary.served_uncooked
    return 0 if faults == 0 and not summary.cabinet_gaps else 1
