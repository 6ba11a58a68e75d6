"""``fishshop connect``: the embedded Kafka Connect worker in the foreground.

As ``fishshop broker`` runs the broker: it fetches what it needs on first use, says
where its REST API is, and runs until Ctrl-C, SIGTERM or SIGHUP stop its JVM.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from fishshop.options import PORT, Subparsers, option
from fishshop.signals import stop_like_ctrl_c

__all__ = ["register", "run"]


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "connect", help="run the embedded Kafka Connect worker (with Debezium's JDBC sink)"
    )
    option(
        parser,
        "--bootstrap-servers",
        default="127.0.0.1:9092",
        metavar="HOST:PORT",
        help="the Kafka it works with (default: fishshop broker's 127.0.0.1:9092)",
    )
    option(
        parser,
        "--port",
        command="connect",
        type=PORT,
        default=8083,
        help="REST API port on 127.0.0.1",
    )
    option(
        parser,
        "--data-dir",
        command="connect",
        type=Path,
        help="logs and settings (default: a fresh temporary folder)",
    )
    option(parser, "--group-id", default="fishshop-connect", help="the Connect cluster's id")
    option(
        parser,
        "--install-plugin",
        type=Path,
        metavar="DIR",
        help="only fetch Debezium's JDBC sink (pinned) into DIR/connect-plugins, for the "
        "plugin.path of a Connect cluster of your own, and exit",
    )


def run(args: argparse.Namespace) -> int:
    """Run the worker until told to stop; 0 when stopped by a signal or Ctrl-C.
    With ``--install-plugin DIR``, only fetch the sink plugin into DIR (for a
    Connect cluster of one's own, such as an init container's) and return."""
    from fishshop_workers.embedded.connect import EmbeddedConnect, ensure_sink_plugin

    if args.install_plugin is not None:
        plugin_path = ensure_sink_plugin(sys.stderr, Path(args.install_plugin))
        print(f"fishshop: plugin.path={plugin_path}", file=sys.stderr)
        return 0
    # The JVM never outlives the command.
    stop_like_ctrl_c()
    chosen = args.data_dir
    data_dir = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="fishshop-connect-"))
    worker = EmbeddedConnect(
        data_dir,
        str(args.bootstrap_servers),
        int(args.port),
        group_id=str(args.group_id),
    )
    try:
        print(
            f"fishshop: starting Kafka Connect on Kafka at {args.bootstrap_servers}...",
            file=sys.stderr,
        )
        worker.start()
        print(
            f"fishshop: Kafka Connect REST API on {worker.url} (group {args.group_id}, "
            f"Debezium's JDBC sink installed), logs in {worker.log_file}; Ctrl-C stops it",
            file=sys.stderr,
        )
        code = worker.wait()
        if code not in (None, 0):
            print(
                f"fishshop: the Kafka Connect worker exited with {code}; see {worker.log_file}",
                file=sys.stderr,
            )
            return 3
    except KeyboardInterrupt:
        print("fishshop: stopping Kafka Connect...", file=sys.stderr)
    finally:
        worker.stop()
        if not chosen:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0
