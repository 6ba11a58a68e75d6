"""``fishshop audit``: count a shop's orders created, served, lost and served twice."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from fishshop.options import (
    Subparsers,
    cabinet_connection,
    cabinet_options,
    kafka_options,
    kafka_settings,
    option,
    seconds,
    shop_options,
    shop_prefix,
)
from fishshop.signals import until_signalled
from fishshop.summary import print_summary

if TYPE_CHECKING:
    from fishshop_workers.audit.summary import Summary

__all__ = ["register", "run"]


def register(commands: Subparsers) -> None:
    parser = commands.add_parser("audit", help="count created, served, lost, doubled")
    shop_options(parser)
    kafka_options(parser, required=True)
    option(
        parser,
        "--wait",
        type=seconds(),
        default=0.0,
        help="seconds to wait for unserved orders to be served",
    )
    option(parser, "--json", action="store_true", help="print JSON")
    cabinet_options(parser)
    option(
        parser,
        "--postgres-url",
        metavar="URL",
        help="also compare the analyst's table in this PostgreSQL with the served topic",
    )


def run(args: argparse.Namespace) -> int:
    from fishshop_workers.analyst.database import DatabaseAddress
    from fishshop_workers.analyst.sink import shop_label
    from fishshop_workers.audit.auditor import TableToCheck, audit
    from fishshop_workers.shop.topics import ShopTopics

    connection = cabinet_connection(args)
    prefix = shop_prefix(args)
    table = None
    if args.postgres_url:
        address = DatabaseAddress.from_url(str(args.postgres_url))
        table = TableToCheck(address.libpq_url, shop_label(args.shop, args.namespace))

    async def books() -> Summary:
        from fishshop_workers.cabinet.store import HotCabinet

        topics = ShopTopics.from_prefix(prefix)
        if connection is None:
            return await audit(kafka_settings(args), topics, float(args.wait), table=table)
        async with HotCabinet.connect(connection, prefix) as cabinet:
            return await audit(kafka_settings(args), topics, float(args.wait), cabinet, table)

    summary = asyncio.run(until_signalled(books()))
    print_summary(summary, args.json, print)
    return 0 if summary.clean else 1
