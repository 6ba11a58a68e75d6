"""``fishshop till | preparer | cook``: run one worker, as a pod does."""

from __future__ import annotations

import argparse
import socket
from typing import TYPE_CHECKING

from fishshop.errors import UsageError
from fishshop.options import (
    Subparsers,
    cabinet_connection,
    cabinet_options,
    kafka_settings,
    option,
    seconds,
    shop_prefix,
    whole,
    worker_options,
)
from fishshop_workers.shop.roles import COOK, PREPARER, TILL
from fishshop_workers.shop.routing import till_number_from_hostname

if TYPE_CHECKING:
    from fishshop_workers.roles.metrics import ShopMetrics
    from fishshop_workers.roles.process import Worker

__all__ = ["register", "run"]


def register(commands: Subparsers) -> None:
    till = commands.add_parser(TILL, help="run one till")
    worker_options(till)
    option(
        till,
        "--till",
        type=whole(1),
        help="till number, 1..N (default: StatefulSet ordinal + 1, else 1)",
    )
    option(
        till,
        "--orders-per-minute",
        type=seconds(unit="orders a minute"),
        default=40.0,
        help="customers per minute (0: as fast as possible)",
    )
    option(till, "--plaice", action="store_true", help="put plaice on the menu")
    option(till, "--max-orders", type=whole(0), default=0, help="stop after N orders (0: never)")

    preparer = commands.add_parser(PREPARER, help="run one preparer")
    worker_options(preparer)
    option(preparer, "--prep-min", type=seconds(), default=0.5, help="seconds")
    option(preparer, "--prep-max", type=seconds(), default=1.0, help="seconds")
    cabinet_options(preparer)

    cook = commands.add_parser(COOK, help="run one cook")
    worker_options(cook)
    option(cook, "--cook-min", type=seconds(), default=3.0, help="seconds")
    option(cook, "--cook-max", type=seconds(), default=3.2, help="seconds")
    fryer = cabinet_options(cook)
    for item, batch, threshold in (("cod", 10, 4), ("chips", 20, 8)):
        option(
            fryer,
            f"--{item}-batch",
            type=whole(1),
            default=batch,
            help=f"portions of {item} in one batch fried into the cabinet",
        )
        option(
            fryer,
            f"--{item}-threshold",
            type=whole(0),
            default=threshold,
            help=f"fry a batch of {item} when the cabinet holds fewer portions than this",
        )


def run(args: argparse.Namespace) -> int:
    """Run the worker named by ``args.command`` until it is told to stop."""
    from fishshop_workers.cabinet.decisions import CabinetSettings
    from fishshop_workers.roles.cook import Cook, CookSettings
    from fishshop_workers.roles.options import WorkerOptions
    from fishshop_workers.roles.preparer import Preparer, PreparerSettings
    from fishshop_workers.roles.process import run_process
    from fishshop_workers.roles.till import Till, TillSettings

    for role, low, high in ((PREPARER, "prep_min", "prep_max"), (COOK, "cook_min", "cook_max")):
        if args.command == role and float(getattr(args, low)) > float(getattr(args, high)):
            flag = "--" + low.replace("_", "-")
            raise UsageError(
                f"{flag} ({getattr(args, low)}) must not be above "
                f"{flag.replace('min', 'max')} ({getattr(args, high)})"
            )
    options = WorkerOptions(
        args.shop, shop_prefix(args), kafka_settings(args), str(args.worker_name)
    )
    connection = cabinet_connection(args) if args.command != TILL else None

    def build(metrics: ShopMetrics) -> Worker:
        if args.command == TILL:
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
        if args.command == PREPARER:
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
