"""`fishshop report`: read the analyst's table and show what the shop served over time.

Thin: the options are read, the rows fetched (``reading.py``), the figures decided
(``report.py``, pure) and shown (``report_view.py``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import UTC, datetime

from fishshop.commands.report_view import (
    charts_available,
    csv_text,
    json_text,
    plain_text,
    terminal_text,
)
from fishshop.main import UsageError
from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.analyst.queries import report_rows
from fishshop_workers.analyst.report import (
    ReportError,
    build_report,
    parse_duration,
    report_window,
)
from fishshop_workers.analyst.sink import shop_label


def run_report(args: argparse.Namespace) -> int:
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
