"""The ``fishshop`` command: parse, set up logging and signals, run a command, exit.

Every option also reads ``FISHSHOP_<OPTION>``; errors become exit codes here, once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from aiokafka.errors import KafkaError

from fishshop.commands import audit, broker, connect, demo, operator, report, worker
from fishshop.errors import kafka_failed
from fishshop.logs import start_logging
from fishshop.options import option
from fishshop.signals import stop_like_ctrl_c
from fishshop_workers.errors import EXIT_INTERRUPTED, FishshopError
from fishshop_workers.shop.roles import ROLES

__all__ = ["build_parser", "main"]

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": demo.run,
    "connect": connect.run,
    "report": report.run,
    "broker": broker.run,
    **dict.fromkeys(ROLES, worker.run),
    "audit": audit.run,
    "operator": operator.run,
}
"""What runs each command, in the order ``--help`` lists them."""

STOPPED_LIKE_CTRL_C = frozenset({"demo", "broker", "audit"})
"""Commands that SIGTERM and SIGHUP stop as Ctrl-C does, so the broker they started
stops too (``connect`` sets this up itself, once it knows it starts a worker)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fishshop",
        description="A fish-and-chip shop on Apache Kafka.",
    )
    option(
        parser,
        "--log-level",
        help="DEBUG, INFO, WARNING (default: INFO for workers, WARNING for demo and audit)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (demo, connect, report, broker, worker, audit, operator):
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.log_level is None:
        args.log_level = "WARNING" if args.command in {"demo", "audit"} else "INFO"
    start_logging(str(args.log_level).upper())
    if str(args.log_level).upper() != "DEBUG":
        # aiokafka logs transient coordinator errors that it retries by itself.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if args.command in STOPPED_LIKE_CTRL_C:
        stop_like_ctrl_c()
    try:
        return COMMANDS[args.command](args)
    except KafkaError as error:
        # aiokafka's errors are wrapped here, at the boundary, once.
        failed: FishshopError = kafka_failed(error, getattr(args, "bootstrap_servers", None))
    except FishshopError as error:
        failed = error
    except KeyboardInterrupt:
        print("fishshop: interrupted; everything it started is stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"fishshop: {failed}", file=sys.stderr)
    return failed.exit_code
