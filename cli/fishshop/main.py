"""The ``fishshop`` command: parse, set up logging and signals, run a command, exit.

Every option also reads ``FISHSHOP_<OPTION>``; errors become exit codes here, once.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import argcomplete
from aiokafka.errors import KafkaError

from fishshop.commands import audit, broker, completion, connect, demo, operator, report, worker
from fishshop.errors import kafka_failed
from fishshop.examples import EXAMPLES
from fishshop.logs import start_logging
from fishshop.options import env_name, option, settle_one_of
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
    "completion": completion.run,
}
"""What runs each command, in the order ``--help`` lists them."""

STOPPED_LIKE_CTRL_C = frozenset({"demo", "broker", "audit"})
"""Commands that SIGTERM and SIGHUP stop as Ctrl-C does, so the broker they started
stops too (``connect`` sets this up itself, once it knows it starts a worker)."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"one of {', '.join(LOG_LEVELS)}, not {text!r}")
    return level


class _Defaults(argparse.HelpFormatter):
    """Help that says an option's default, where it has one worth saying, and keeps
    the examples' lines as they are written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            default is None
            or default is False
            or default is argparse.SUPPRESS
            or default == []
            or "default" in text
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """A parser whose errors are one line and a hint, not the whole usage; an option
    it does not know gets a "did you mean". Help shows each option's default."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Defaults)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: "):
            message += _did_you_mean(self, message.removeprefix("unrecognized arguments: "))
        self.exit(2, f"{self.prog}: error: {message}\nTry '{self.prog} --help'.\n")


def _did_you_mean(parser: argparse.ArgumentParser, given: str) -> str:
    known = [flag for action in parser._actions for flag in action.option_strings]
    for word in given.split():
        if word.startswith("--"):
            close = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.7)
            if close:
                return f" (did you mean {close[0]}?)"
    return ""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="fishshop",
        description="A fish-and-chip shop on Apache Kafka.",
        epilog="Exit codes: 0 done, 1 not clean (an order lost or served twice), "
        "2 a usage error, 3 a server missing or refusing, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"fishshop {_version()}")
    levels = "DEBUG, INFO, WARNING or ERROR (default: INFO for workers, WARNING for demo and audit)"
    option(parser, "--log-level", type=_log_level, help=levels)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    for command in (demo, connect, report, broker, worker, audit, operator, completion):
        command.register(commands)
    for name, sub in commands.choices.items():
        # Also after the command; what is given there wins.
        sub.add_argument(
            "--log-level",
            type=_log_level,
            default=argparse.SUPPRESS,
            help=f"{levels} [env {env_name('--log-level')}]",
        )
        if name in EXAMPLES:
            sub.epilog = _examples(EXAMPLES[name])
    return parser


def _examples(lines: list[tuple[str, str]]) -> str:
    return "examples:\n" + "".join(f"  # {what}\n  {line}\n" for line, what in lines)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; an option the command does not know is said by the command's parser, with
    a "did you mean" from the command's own options."""
    args, extras = parser.parse_known_args(argv)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if extras:
        commands.choices[args.command].error(f"unrecognized arguments: {' '.join(extras)}")
    settle_one_of(commands.choices[args.command], args, sys.argv[1:] if argv is None else argv)
    return args


def _version() -> str:
    try:
        return importlib.metadata.version("fishshop")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # When a shell asks for completions (fishshop completion), answer and exit here.
    argcomplete.autocomplete(parser)
    args = _parse(parser, argv)
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
