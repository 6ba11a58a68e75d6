"""The ``fishshop`` command. Every option also reads ``FISHSHOP_<OPTION>``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from aiokafka.errors import KafkaError

from fishshop.demo.boards.cabinet import FromCabinet, summary_lines
from fishshop.demo.scenarios import ANALYST_SCENARIOS, SCENARIOS, scenario
from fishshop_operator.settings import DEFAULT_IMAGE
from fishshop_workers.analyst.database import DatabaseAddress
from fishshop_workers.audit.summary import Summary
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.errors import EXIT_INTERRUPTED, FishshopError, InputError, ServiceError
from fishshop_workers.kafka.settings import (
    SASL_MECHANISMS,
    KafkaSettings,
    read_sasl_password,
)
from fishshop_workers.shop.routing import till_number_from_hostname
from fishshop_workers.shop.spec import ShopSpec, read_manifest
from fishshop_workers.shop.topics import topic_prefix

if TYPE_CHECKING:
    from fishshop.demo.analyst import DemoAnalyst
    from fishshop_operator.settings import OperatorConfig

__all__ = ["build_parser", "main"]

log = logging.getLogger("fishshop")
T = TypeVar("T")


class UsageError(InputError):
    """Bad input from the person at the keyboard: printed, exit code 2."""


def _env_name(option: str) -> str:
    return "FISHSHOP_" + option.lstrip("-").replace("-", "_").upper()


class _AppendOverEnvironment(argparse._AppendAction):
    """Append, but the first value given on the command line replaces the variable's."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest, None) is self.default:
            setattr(namespace, self.dest, [])
        super().__call__(parser, namespace, values, option_string)


def _option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, option: str, **kwargs: Any
) -> None:
    """Add ``option`` whose default comes from its FISHSHOP_ variable."""
    env = _env_name(option)
    if env in os.environ:
        raw = os.environ[env]
        if kwargs.get("action") == "store_true":
            kwargs["default"] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif kwargs.get("action") == "append":
            kwargs["default"] = [raw]
            kwargs["action"] = _AppendOverEnvironment
        else:
            kwargs["default"] = raw
    kwargs["help"] = f"{kwargs.get('help', '')} [env {env}]".strip()
    parser.add_argument(option, **kwargs)


def _kafka_options(parser: argparse.ArgumentParser, required: bool) -> None:
    group = parser.add_argument_group("Kafka connection")
    _option(
        group,
        "--bootstrap-servers",
        metavar="HOST:PORT",
        help="Kafka to use" + ("" if required else " (default: start the embedded broker)"),
    )
    _option(
        group,
        "--certs-dir",
        type=Path,
        help="folder with ca.pem, service.cert, service.key for TLS",
    )
    _option(
        group,
        "--sasl-mechanism",
        choices=SASL_MECHANISMS,
        help="SASL mechanism",
    )
    _option(group, "--sasl-username", help="SASL user")
    _option(
        group,
        "--sasl-password",
        help="SASL password; visible to every user of the machine in `ps`: "
        "prefer --sasl-password-file or the variable",
    )
    _option(
        group,
        "--sasl-password-file",
        type=Path,
        metavar="PATH",
        help="file holding the SASL password (one trailing newline is ignored)",
    )


def _cabinet_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    group = parser.add_argument_group(
        "hot cabinet (Redis)",
        "With --redis-url, preparers serve from a hot cabinet in Redis and the cook keeps "
        "it stocked; the password may also come from FISHSHOP_REDIS_PASSWORD.",
    )
    _option(
        group,
        "--redis-url",
        metavar="URL",
        help="redis://HOST:PORT[/DB], or rediss:// for TLS (default: no cabinet)",
    )
    _option(group, "--redis-password-file", type=Path, metavar="FILE", help="Redis password")
    _option(group, "--redis-ca-file", type=Path, metavar="FILE", help="CA of a rediss:// server")
    return group


def _cabinet_connection(args: argparse.Namespace) -> CabinetConnection | None:
    """How to reach the hot cabinet's Redis, or None when the shop has no cabinet."""
    if not getattr(args, "redis_url", None):
        return None
    return CabinetConnection(
        str(args.redis_url),
        password=os.environ.get("FISHSHOP_REDIS_PASSWORD") or None,
        password_file=args.redis_password_file,
        tls_ca_file=args.redis_ca_file,
    )


def _shop_options(parser: argparse.ArgumentParser) -> None:
    _option(parser, "--shop", required="FISHSHOP_SHOP" not in os.environ, help="the shop's name")
    _option(parser, "--namespace", help="Kubernetes namespace of the shop, if any")
    _option(parser, "--topic-prefix", help="topic prefix (default fishshop.[NAMESPACE.]SHOP)")


def _worker_options(parser: argparse.ArgumentParser) -> None:
    _shop_options(parser)
    _kafka_options(parser, required=True)
    _option(
        parser,
        "--metrics-port",
        type=int,
        default=8000,
        help="port for /metrics, /healthz and /readyz (0: any free port)",
    )
    _option(
        parser,
        "--metrics-host",
        default="0.0.0.0",  # noqa: S104 - pods are scraped from outside
        help="address to serve metrics on (a pod passes its own IP)",
    )
    _option(
        parser,
        "--worker-name",
        default=socket.gethostname(),
        help="name in served records and metrics",
    )
    _option(
        parser,
        "--create-topics",
        action="store_true",
        help="create the shop's topics if missing (the operator does this in a cluster)",
    )
    _option(parser, "--partitions", type=int, default=3, help="partitions for --create-topics")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fishshop",
        description="A fish-and-chip shop on Apache Kafka.",
    )
    _option(
        parser,
        "--log-level",
        help="DEBUG, INFO, WARNING (default: INFO for workers, WARNING for demo and audit)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run a whole shop locally")
    which = demo.add_mutually_exclusive_group()
    which.add_argument(
        "--scenario",
        default=os.environ.get("FISHSHOP_SCENARIO", "two-preparers"),
        choices=list(SCENARIOS),
        help="one of the talk's demos [env FISHSHOP_SCENARIO]",
    )
    which.add_argument("-f", "--file", type=Path, help="a FishShop manifest to run")
    _kafka_options(demo, required=False)
    _option(
        demo,
        "--duration",
        type=float,
        default=30.0,
        help="seconds the shop stays open when headless (the live view runs until you quit)",
    )
    _option(
        demo,
        "--drain-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the queue to empty after closing",
    )
    _option(
        demo,
        "--headless",
        action="store_true",
        help="no live view (the default without a terminal); print progress and the summary",
    )
    _option(demo, "--json", action="store_true", help="print the summary as JSON")
    _option(demo, "--seed", type=int, help="seed for the customers' choices")
    redis = demo.add_argument_group(
        "hot cabinet (Redis)",
        "For a shop with a hot cabinet (--scenario hot-cabinet): where the cabinet lives. "
        "The password may also come from FISHSHOP_REDIS_PASSWORD.",
    )
    _option(
        redis,
        "--redis-url",
        metavar="URL",
        help="redis://HOST:PORT[/DB], or rediss:// for TLS "
        "(default: start a local redis-server for the demo's lifetime)",
    )
    _option(redis, "--redis-password-file", type=Path, metavar="FILE", help="Redis password")
    _option(redis, "--redis-ca-file", type=Path, metavar="FILE", help="CA of a rediss:// server")

    analyst = demo.add_argument_group(
        "analyst (Kafka Connect and PostgreSQL)",
        "For --scenario analyst: served orders flow through a Kafka Connect JDBC sink "
        "into PostgreSQL, and the live view charts them.",
    )
    _option(
        analyst,
        "--postgres-url",
        metavar="URL",
        help="postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
        "(default: start a local PostgreSQL for the demo's lifetime)",
    )
    _option(
        analyst,
        "--connect-url",
        metavar="URL",
        help="a Kafka Connect cluster's REST API with Debezium's JDBC sink installed "
        "(default: start a local Connect worker for the demo's lifetime)",
    )

    connect = commands.add_parser(
        "connect", help="run the embedded Kafka Connect worker (with Debezium's JDBC sink)"
    )
    _option(
        connect,
        "--bootstrap-servers",
        default="127.0.0.1:9092",
        metavar="HOST:PORT",
        help="the Kafka it works with (default: fishshop broker's 127.0.0.1:9092)",
    )
    _option(connect, "--port", type=int, default=8083, help="REST API port on 127.0.0.1")
    _option(
        connect,
        "--data-dir",
        type=Path,
        help="logs and settings (default: a fresh temporary folder)",
    )
    _option(connect, "--group-id", default="fishshop-connect", help="the Connect cluster's id")
    _option(
        connect,
        "--install-plugin",
        type=Path,
        metavar="DIR",
        help="only fetch Debezium's JDBC sink (pinned) into DIR/connect-plugins, for the "
        "plugin.path of a Connect cluster of your own, and exit",
    )

    report = commands.add_parser(
        "report", help="orders served over time, from the analyst's PostgreSQL"
    )
    _option(
        report,
        "--postgres-url",
        required="FISHSHOP_POSTGRES_URL" not in os.environ,
        metavar="URL",
        help="postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
    )
    _option(report, "--shop", help="one shop (default: every shop in the table)")
    _option(
        report,
        "--namespace",
        help="the shop's Kubernetes namespace (its rows are labelled namespace/name)",
    )
    _option(report, "--since", default="1h", help="how far back: 90s, 30m, 1h, 2d (default 1h)")
    _option(report, "--every", default="1m", help="interval of each line: 10s, 1m, 1h (default 1m)")
    shape = report.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print JSON")
    shape.add_argument("--csv", action="store_true", help="print CSV")

    broker = commands.add_parser("broker", help="run the embedded Kafka broker")
    _option(broker, "--port", type=int, default=9092, help="port on 127.0.0.1")
    _option(
        broker, "--data-dir", type=Path, help="broker storage (default: a fresh temporary folder)"
    )

    till = commands.add_parser("till", help="run one till")
    _worker_options(till)
    _option(
        till,
        "--till",
        type=int,
        help="till number, 1..N (default: StatefulSet ordinal + 1, else 1)",
    )
    _option(
        till,
        "--orders-per-minute",
        type=float,
        default=40.0,
        help="customers per minute (0: as fast as possible)",
    )
    _option(till, "--plaice", action="store_true", help="put plaice on the menu")
    _option(till, "--max-orders", type=int, default=0, help="stop after N orders")

    preparer = commands.add_parser("preparer", help="run one preparer")
    _worker_options(preparer)
    _option(preparer, "--prep-min", type=float, default=0.5, help="seconds")
    _option(preparer, "--prep-max", type=float, default=1.0, help="seconds")
    _cabinet_options(preparer)

    cook = commands.add_parser("cook", help="run one cook")
    _worker_options(cook)
    _option(cook, "--cook-min", type=float, default=3.0, help="seconds")
    _option(cook, "--cook-max", type=float, default=3.2, help="seconds")
    fryer = _cabinet_options(cook)
    for item, batch, threshold in (("cod", 10, 4), ("chips", 20, 8)):
        _option(
            fryer,
            f"--{item}-batch",
            type=int,
            default=batch,
            help=f"portions of {item} in one batch fried into the cabinet",
        )
        _option(
            fryer,
            f"--{item}-threshold",
            type=int,
            default=threshold,
            help=f"fry a batch of {item} when the cabinet holds fewer portions than this",
        )

    audit = commands.add_parser("audit", help="count created, served, lost, doubled")
    _shop_options(audit)
    _kafka_options(audit, required=True)
    _option(
        audit,
        "--wait",
        type=float,
        default=0.0,
        help="seconds to wait for unserved orders to be served",
    )
    _option(audit, "--json", action="store_true", help="print JSON")
    _cabinet_options(audit)
    _option(
        audit,
        "--postgres-url",
        metavar="URL",
        help="also compare the analyst's table in this PostgreSQL with the served topic",
    )

    operator = commands.add_parser("operator", help="run the Kubernetes operator")
    _option(
        operator,
        "--watch-namespace",
        action="append",
        help="namespace (or glob pattern) to watch; repeat for more; default: all. "
        "The variable takes a comma-separated list",
    )
    _option(
        operator,
        "--worker-image",
        default=DEFAULT_IMAGE,
        help="image the shop's pods run",
    )
    _option(operator, "--metrics-port", type=int, default=8000, help="port for /metrics")
    _option(operator, "--health-port", type=int, default=8080, help="port for /healthz")
    _option(
        operator,
        "--resync-seconds",
        type=float,
        default=30.0,
        help="seconds between full reconciles of each shop",
    )
    _option(
        operator,
        "--retry-seconds",
        type=float,
        default=10.0,
        help="seconds before a failed reconcile is retried",
    )
    _option(
        operator,
        "--delete-patience",
        type=float,
        default=60.0,
        help="seconds to retry deleting a shop's topics before giving up with a Warning",
    )
    _option(
        operator,
        "--operator-concurrency",
        type=int,
        default=16,
        help="shops reconciled at the same time in a resync round (at least 1)",
    )
    return parser


def _sasl_password(args: argparse.Namespace) -> str | None:
    """The password from --sasl-password or --sasl-password-file (or their
    variables); both at once is ambiguous, so it is refused."""
    if args.sasl_password_file is None:
        return None if args.sasl_password is None else str(args.sasl_password)
    if args.sasl_password is not None:
        raise UsageError(
            "give the SASL password once: --sasl-password (FISHSHOP_SASL_PASSWORD) or "
            "--sasl-password-file (FISHSHOP_SASL_PASSWORD_FILE), not both"
        )
    return read_sasl_password(Path(args.sasl_password_file))


def _kafka(args: argparse.Namespace, bootstrap: str | None = None) -> KafkaSettings:
    settings = KafkaSettings(
        bootstrap_servers=bootstrap or args.bootstrap_servers or "",
        certs_dir=Path(args.certs_dir) if args.certs_dir else None,
        sasl_mechanism=args.sasl_mechanism,
        sasl_username=args.sasl_username,
        sasl_password=_sasl_password(args),
    )
    settings.check()
    return settings


def _prefix(args: argparse.Namespace) -> str:
    return topic_prefix(args.shop, args.namespace, args.topic_prefix)


def _print_summary(summary: Summary, as_json: bool, out: Callable[[str], None]) -> None:
    if as_json:
        out(json.dumps(summary.as_dict()))
        return
    data = summary.as_dict()
    width = max(len(k) for k in data)
    for key, value in data.items():
        if isinstance(value, dict) and all(not isinstance(v, dict) for v in value.values()):
            value = " ".join(f"{name}={figure}" for name, figure in value.items()) or "-"
        out(f"{key.ljust(width)}  {'-' if value is None else value}")
    out(
        "every order served exactly once"
        if summary.clean
        else "NOT CLEAN: some orders are unserved or were served twice"
    )


def _demo_spec(args: argparse.Namespace) -> ShopSpec:
    if args.file is None:
        return scenario(args.scenario)
    try:
        documents = list(yaml.safe_load_all(args.file.read_text()))
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"cannot read {args.file}: {error}") from error
    shops = [d for d in documents if isinstance(d, dict) and d.get("kind") == "FishShop"]
    if len(shops) != 1:
        raise UsageError(f"{args.file} must hold exactly one FishShop, found {len(shops)}")
    return read_manifest(shops[0])


def _wants_live_view(args: argparse.Namespace) -> bool:
    """The live view needs a terminal to read keys from and to draw on (Textual
    draws on stderr; the summary goes to stdout)."""
    if args.headless or args.json or os.environ.get("TERM") == "dumb":
        return False
    return all(stream.isatty() for stream in (sys.stdin, sys.stdout, sys.stderr))


def _command_demo(args: argparse.Namespace) -> int:
    from fishshop.demo.analyst import AnalystServers, DemoAnalyst
    from fishshop_workers.embedded.redis import EmbeddedRedis, RedisStartError

    spec = _demo_spec(args)
    connection = _cabinet_connection(args)
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
    broker = None
    redis = None
    servers = None
    analyst = None
    postgres_url = ""
    bootstrap = args.bootstrap_servers
    local_redis = spec.hot_cabinet is not None and connection is None
    if wants_analyst and not args.connect_url and (args.certs_dir or args.sasl_mechanism):
        raise UsageError(
            "the local Kafka Connect worker speaks to Kafka in plain text only: "
            "pass --connect-url for a Connect cluster set up for this Kafka"
        )
    data_dir = (
        Path(tempfile.mkdtemp(prefix="fishshop-demo-")) if local_redis or not bootstrap else None
    )
    try:
        if local_redis and data_dir is not None:
            # Before the broker: a missing redis-server is said at once, not after Kafka.
            redis = EmbeddedRedis(data_dir / "redis")
            print("fishshop: starting a local Redis for the hot cabinet...", file=sys.stderr)
            redis.start()
            connection = CabinetConnection(redis.url)
            print(f"fishshop: Redis ready on {redis.url}", file=sys.stderr)
        if wants_analyst:
            # PostgreSQL before the broker too; Connect after it (it lives in Kafka).
            servers = AnalystServers(args.postgres_url, args.connect_url)
            postgres_url = servers.start_postgres()
        if not bootstrap and data_dir is not None:
            broker = EmbeddedBroker(data_dir)
            print("fishshop: starting the embedded Kafka broker...", file=sys.stderr)
            broker.start()
            bootstrap = broker.bootstrap_servers
            print(f"fishshop: broker ready on {bootstrap}", file=sys.stderr)
        kafka = _kafka(args, bootstrap)
        if servers is not None:
            connect_url = servers.start_connect(
                kafka.bootstrap_servers, f"fishshop-demo-{spec.name}"
            )
            analyst = DemoAnalyst(
                postgres_url,
                connect_url,
                delete_connector=broker is None or servers.connect is None,
                replication_factor=1 if broker is not None or servers.connect else -1,
            )
        if _wants_live_view(args):
            return _live_demo(spec, kafka, args, connection, analyst)
        return _headless_demo(spec, kafka, args, connection, analyst)
    except RedisStartError as error:
        print(f"fishshop: {error}", file=sys.stderr)
        return 3
    finally:
        signal.signal(signal.SIGTERM, _interrupt)  # asyncio.run reset it
        signal.signal(signal.SIGHUP, _interrupt)
        if servers is not None and servers.connect is not None:
            servers.connect.stop()  # before the broker it keeps its state in
        if broker is not None:
            broker.stop()
        if redis is not None:
            redis.stop()
        if servers is not None:
            servers.stop()
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)


def _headless_demo(
    spec: ShopSpec,
    kafka: KafkaSettings,
    args: argparse.Namespace,
    connection: CabinetConnection | None = None,
    analyst: DemoAnalyst | None = None,
) -> int:
    from fishshop.demo.analyst import sink_for_the_day
    from fishshop.demo.boards.shop import counted
    from fishshop.demo.cabinet_day import open_cabinet
    from fishshop.demo.headless import run_shop

    print(
        f"fishshop: shop {spec.name!r} open for {args.duration:.0f}s: "
        f"{counted(spec.tills.replicas, 'till')}, {counted(spec.preparers.replicas, 'preparer')}, "
        f"{counted(spec.cooks.replicas, 'cook')}, {counted(spec.partitions, 'partition')}"
        + (", a hot cabinet" if spec.hot_cabinet is not None else "")
        + (", an analyst" if analyst is not None else ""),
        file=sys.stderr,
    )
    from_cabinet = FromCabinet() if spec.hot_cabinet is not None else None

    def tick(elapsed: float, summary: Summary) -> None:
        print(
            f"  {elapsed:5.0f}s  taken {summary.orders_created:5d}  served "
            f"{summary.orders_served:5d}  waiting {summary.unserved:4d}"
            + ("" if from_cabinet is None else f"  from the cabinet {from_cabinet.orders:5d}"),
            file=sys.stderr,
        )

    async def day() -> Summary:
        async with (
            open_cabinet(spec, connection) as cabinet,
            sink_for_the_day(analyst, spec, kafka) as sink,
        ):
            summary = await run_shop(
                spec,
                kafka,
                args.duration,
                args.drain_timeout,
                on_tick=tick,
                seed=args.seed,
                cabinet=cabinet,
                from_cabinet=from_cabinet,
            )
            if sink is None:
                return summary
            print("fishshop: shop closed; waiting for the analyst's table...", file=sys.stderr)
            return await sink.books(summary)

    summary = asyncio.run(_until_signalled(day()))
    print("fishshop: shop closed and drained", file=sys.stderr)
    _print_demo_summary(summary, from_cabinet, args.json)
    return 0 if summary.clean else 1


def _print_demo_summary(summary: Summary, from_cabinet: FromCabinet | None, as_json: bool) -> None:
    """The audit's summary; with a hot cabinet, its books and what was served from it."""
    if summary.cabinet is None:
        _print_summary(summary, as_json, print)
        return
    if as_json:
        data = summary.as_dict()
        if from_cabinet is not None:
            data["served_from_cabinet"] = from_cabinet.as_dict()
        print(json.dumps(data))
        return
    orders = dataclasses.replace(summary, cabinet=None, cabinet_gaps={}, cabinet_kafka_gaps={})
    _print_summary(orders, False, print)
    if from_cabinet is not None:
        print(from_cabinet.line())
    for line in summary_lines(summary.cabinet, summary.cabinet_gaps, summary.cabinet_kafka_gaps):
        print(line)


def _live_demo(
    spec: ShopSpec,
    kafka: KafkaSettings,
    args: argparse.Namespace,
    connection: CabinetConnection | None = None,
    analyst: DemoAnalyst | None = None,
) -> int:
    """The live view until the person quits; queued orders stay safe in Kafka."""
    from fishshop.demo.analyst import sink_for_the_day
    from fishshop.demo.boards.shop import counted
    from fishshop.demo.cabinet_day import open_cabinet
    from fishshop.demo.live_shop import LiveShop
    from fishshop.demo.view import run_live_view
    from fishshop_workers.analyst.queries import AnalystReader

    crew = [
        counted(spec.tills.replicas, "till"),
        counted(spec.preparers.replicas, "preparer"),
        counted(spec.cooks.replicas, "cook"),
        counted(spec.partitions, "partition"),
    ]
    if spec.hot_cabinet is not None:
        crew.append("a hot cabinet")
    if analyst is not None:
        crew.append("an analyst")
    print(f"fishshop: opening shop {spec.name!r}: {', '.join(crew)}...", file=sys.stderr)

    async def run() -> tuple[Summary, int]:
        async with (
            open_cabinet(spec, connection) as cabinet,
            sink_for_the_day(analyst, spec, kafka) as sink,
        ):
            shop = LiveShop(spec, kafka, seed=args.seed, cabinet=cabinet)
            await shop.start()
            reader = None if sink is None else AnalystReader(sink.analyst.postgres_url, sink.shop)
            try:
                return await run_live_view(shop, reader)
            finally:
                if reader is not None:
                    await reader.close()

    summary, view_code = asyncio.run(run())
    waiting = summary.unserved
    with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
        print(
            f"fishshop: shop {spec.name!r} closed: {summary.orders_created} orders taken, "
            f"{summary.orders_served} served"
            + (f", {waiting} still queued in Kafka" if waiting else "")
            + f", {summary.duplicates} served twice"
        )
        if summary.cabinet is not None:
            for line in summary_lines(summary.cabinet, summary.cabinet_gaps):
                print(f"fishshop: {line}")
    if view_code:
        return view_code
    faults = summary.duplicates + summary.served_unknown + summary.served_uncooked
    return 0 if faults == 0 and not summary.cabinet_gaps else 1


def _command_broker(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="fishshop-broker-"))
    broker = EmbeddedBroker(Path(data_dir), port=int(args.port))
    try:
        broker.start()
        print(
            f"fishshop: Kafka broker on {broker.bootstrap_servers}, data in {data_dir}; "
            "Ctrl-C stops it",
            file=sys.stderr,
        )
        broker.wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


def _command_worker(args: argparse.Namespace) -> int:
    from fishshop_workers.roles.cook import Cook, CookSettings
    from fishshop_workers.roles.metrics import ShopMetrics
    from fishshop_workers.roles.options import WorkerOptions
    from fishshop_workers.roles.preparer import Preparer, PreparerSettings
    from fishshop_workers.roles.process import Worker, run_process
    from fishshop_workers.roles.till import Till, TillSettings

    options = WorkerOptions(args.shop, _prefix(args), _kafka(args), str(args.worker_name))
    connection = _cabinet_connection(args) if args.command != "till" else None

    def build(metrics: ShopMetrics) -> Worker:
        if args.command == "till":
            number = (
                args.till
                or till_number_from_hostname(str(args.worker_name))
                or till_number_from_hostname(socket.gethostname())
                or 1
            )
            till = TillSettings(
                int(number),
                float(args.orders_per_minute),
                bool(args.plaice),
                int(args.max_orders),
            )
            return Till(options, till, metrics)
        from fishshop_workers.cabinet.store import HotCabinet

        cabinet = (
            None if connection is None else HotCabinet.connect(connection, options.topic_prefix)
        )
        if args.command == "preparer":
            prep = PreparerSettings(float(args.prep_min), float(args.prep_max))
            return Preparer(options, prep, metrics, cabinet=cabinet)
        fryer = CabinetSettings(
            cod_batch=int(args.cod_batch),
            chips_batch=int(args.chips_batch),
            cod_threshold=int(args.cod_threshold),
            chips_threshold=int(args.chips_threshold),
        )
        cook = CookSettings(float(args.cook_min), float(args.cook_max))
        return Cook(options, cook, metrics, cabinet=cabinet, cabinet_settings=fryer)

    create = int(args.partitions) if args.create_topics else None
    return run_process(
        args.command, options, build, int(args.metrics_port), create, str(args.metrics_host)
    )


def _command_audit(args: argparse.Namespace) -> int:
    from fishshop_workers.analyst.sink import shop_label
    from fishshop_workers.audit.auditor import TableToCheck, audit
    from fishshop_workers.shop.topics import ShopTopics

    connection = _cabinet_connection(args)
    prefix = _prefix(args)
    table = None
    if args.postgres_url:
        address = DatabaseAddress.from_url(str(args.postgres_url))
        table = TableToCheck(address.libpq_url, shop_label(args.shop, args.namespace))

    async def books() -> Summary:
        from fishshop_workers.cabinet.store import HotCabinet

        topics = ShopTopics.from_prefix(prefix)
        if connection is None:
            return await audit(_kafka(args), topics, float(args.wait), table=table)
        async with HotCabinet.connect(connection, prefix) as cabinet:
            return await audit(_kafka(args), topics, float(args.wait), cabinet, table)

    summary = asyncio.run(_until_signalled(books()))
    _print_summary(summary, args.json, print)
    return 0 if summary.clean else 1


def _command_operator(args: argparse.Namespace) -> int:
    from fishshop_operator.main import run_operator

    namespaces: list[str] = []
    for value in args.watch_namespace or []:
        namespaces += [n.strip() for n in str(value).split(",") if n.strip()]
    try:
        config = _operator_config(args, namespaces)
    except ValueError as error:
        print(f"fishshop operator: {error}", file=sys.stderr)
        return 2
    return run_operator(config)


def _operator_config(args: argparse.Namespace, namespaces: list[str]) -> OperatorConfig:
    from fishshop_operator.settings import OperatorConfig

    return OperatorConfig(
        namespaces=tuple(namespaces),
        worker_image=str(args.worker_image),
        metrics_port=int(args.metrics_port),
        health_port=int(args.health_port),
        resync=float(args.resync_seconds),
        retry=float(args.retry_seconds),
        delete_patience=float(args.delete_patience),
        concurrency=int(args.operator_concurrency),
    )


def _command_report(args: argparse.Namespace) -> int:
    from fishshop.commands.report import run_report

    return run_report(args)


def _command_connect(args: argparse.Namespace) -> int:
    from fishshop.commands.connect import run_connect

    return run_connect(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "report": _command_report,
    "connect": _command_connect,
    "demo": _command_demo,
    "broker": _command_broker,
    "till": _command_worker,
    "preparer": _command_worker,
    "cook": _command_worker,
    "audit": _command_audit,
    "operator": _command_operator,
}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _until_signalled(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; SIGINT, SIGTERM or SIGHUP cancels it cleanly, then KeyboardInterrupt."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    signalled = False

    def cancel() -> None:
        nonlocal signalled
        signalled = True
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if signalled:
            raise KeyboardInterrupt from None
        raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.log_level is None:
        args.log_level = "WARNING" if args.command in {"demo", "audit"} else "INFO"
    logging.basicConfig(
        level=str(args.log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if str(args.log_level).upper() != "DEBUG":
        # aiokafka logs transient coordinator errors that it retries by itself.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if args.command in {"demo", "broker", "audit"}:
        # SIGTERM, and SIGHUP when the terminal closes, stop these like Ctrl-C does,
        # so the broker they started stops too.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGHUP, _interrupt)
    try:
        return COMMANDS[args.command](args)
    except KafkaError as error:
        # aiokafka's errors are wrapped here, at the boundary, once.
        failed: FishshopError = KafkaFailed(
            f"Kafka at {getattr(args, 'bootstrap_servers', None) or 'the broker'} "
            f"refused or failed: {error}. Check the address, the credentials "
            "(--sasl-*) and the certificates (--certs-dir)."
        )
    except FishshopError as error:
        failed = error
    except KeyboardInterrupt:
        print("fishshop: interrupted; everything it started is stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"fishshop: {failed}", file=sys.stderr)
    return failed.exit_code


class KafkaFailed(ServiceError):
    """Kafka refused or failed a call (the command line's wrapping of aiokafka's errors)."""
