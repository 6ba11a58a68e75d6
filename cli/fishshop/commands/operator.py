"""``fishshop operator``: run the Kubernetes operator with options from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from fishshop.options import PORT_OR_ANY, Subparsers, option, seconds, whole
from fishshop_operator.settings import DEFAULT_IMAGE

if TYPE_CHECKING:
    from fishshop_operator.settings import OperatorConfig

__all__ = ["register", "run"]


def register(commands: Subparsers) -> None:
    parser = commands.add_parser("operator", help="run the Kubernetes operator")
    option(
        parser,
        "--watch-namespace",
        action="append",
        help="namespace (or glob pattern) to watch; repeat for more; default: all. "
        "The variable takes a comma-separated list",
    )
    option(
        parser,
        "--worker-image",
        default=DEFAULT_IMAGE,
        help="image the shop's pods run",
    )
    option(parser, "--metrics-port", type=PORT_OR_ANY, default=8000, help="port for /metrics")
    option(parser, "--health-port", type=PORT_OR_ANY, default=8080, help="port for /healthz")
    option(
        parser,
        "--resync-seconds",
        type=seconds(above_zero=True),
        default=30.0,
        help="seconds between full reconciles of each shop",
    )
    option(
        parser,
        "--retry-seconds",
        type=seconds(above_zero=True),
        default=10.0,
        help="seconds before a failed reconcile is retried",
    )
    option(
        parser,
        "--delete-patience",
        type=seconds(),
        default=60.0,
        help="seconds to retry deleting a shop's topics before giving up with a Warning",
    )
    option(
        parser,
        "--local-endpoints",
        choices=("refuse", "allow"),
        default="refuse",
        help="a shop's Connect, Redis or PostgreSQL on a loopback, link-local or cloud "
        "metadata address: refuse (default) or allow (a laptop, tests)",
    )
    option(
        parser,
        "--topic-prefixes",
        choices=("namespace", "any"),
        default="namespace",
        help="a shop's own spec.topicPrefix: namespace (default: it starts with the "
        "shop's namespace, so no tenant can take another's topics) or any",
    )
    option(
        parser,
        "--operator-concurrency",
        type=whole(1),
        default=16,
        help="shops reconciled at the same time in a resync round (at least 1)",
    )


def run(args: argparse.Namespace) -> int:
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
        local_endpoints=args.local_endpoints == "allow",
        any_prefix=args.topic_prefixes == "any",
    )
