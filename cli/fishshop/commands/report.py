"""``fishshop report``: what the shop served over time, from the analyst's table.

Thin: the options are read, the rows fetched (``analyst.queries``), the figures
decided (``analyst.report``, pure) and shown (``report_view``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from datetime import UTC, datetime

from fishshop.errors import UsageError
from fishshop.options import Subparsers, option

__all__ = ["register", "run"]


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "report", help="orders served over time, from the analyst's PostgreSQL"
    )
    option(
        parser,
        "--postgres-url",
        required="FISHSHOP_POSTGRES_URL" not in os.environ,
        metavar="URL",
        help="postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
    )
    option(parser, "--shop", help="one shop (default: every shop in the table)")
    option(
        parser,
        "--namespace",
        help="the shop's Kubernetes namespace (its rows are labelled namespace/name)",
    )
    option(parser, "--since", default="1h", help="how far back: 90s, 30m, 1h, 2d (default 1h)")
    option(parser, "--every", default="1m", help="interval of each line: 10s, 1m, 1h (default 1m)")
    shape = parser.add_mutually_exclusive_group()
    option(shape, "--json", action="store_true", help="print JSON")
    option(shape, "--csv", action="store_true", help="print CSV")


def run(args: argparse.Namespace) -> int:
    from fishshop.commands.report_view import (
        charts_available,
        csv_text,
        json_text,
        plain_text,
        terminal_text,
    )
    from fishshop_workers.analyst.database import DatabaseAddress
    from fishshop_workers.analyst.queries import report_rows
    from fishshop_workers.analyst.report import (
        ReportError,
        build_report,
        parse_duration,
        report_window,
    )
    from fishshop_workers.analyst.sink import shop_label

    address = DatabaseAddress.from_url(str(args.postgres_url))
    since, every = str(args.since).strip(), str(args.every).strip()
    try:
        window = report_window(
            datetime.now(UTC),
            parse_duration(since, option="--since"),
            parse_duration(every, option="--every"),
        )
    except ReportError as error:
        raise UsageError(str(error)) from None
    # On Kubernetes a shop's rows carry namespace/name.
    shop = shop_label(str(args.shop), args.namespace) if args.shop else None
    report = build_report(report_rows(address.libpq_url, window, shop), window, shop)
    if args.json:
        text = json_text(report, since=since, every=every)
    elif args.csv:
        text = csv_text(report)
    elif sys.stdout.isatty() and charts_available():
        width = min(shutil.get_terminal_size().columns, 160)
        text = terminal_text(report, since=since, every=every, width=width)
    else:
        if sys.stdout.isatty():
            print(
                "fishshop: charts need plotext 5 (pip install 'plotext>=5.3,<6'); showing tables",
                file=sys.stderr,
            )
        text = plain_text(report, since=since, every=every)
    sys.stdout.write(text)
    return 0
