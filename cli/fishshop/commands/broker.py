"""``fishshop broker``: the embedded single-node Kafka broker in the foreground."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from fishshop.options import Subparsers, option

__all__ = ["register", "run"]


def register(commands: Subparsers) -> None:
    parser = commands.add_parser("broker", help="run the embedded Kafka broker")
    option(parser, "--port", type=int, default=9092, help="port on 127.0.0.1")
    option(
        parser, "--data-dir", type=Path, help="broker storage (default: a fresh temporary folder)"
    )


def run(args: argparse.Namespace) -> int:
    from fishshop_workers.embedded.kafka import EmbeddedBroker

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
