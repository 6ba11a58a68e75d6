"""`fishshop connect`: the embedded Kafka Connect worker in the foreground.

As ``fishshop broker`` runs the broker: it fetches what it needs on first use (with
progress), says where its REST API is, and runs until Ctrl-C, SIGTERM or SIGHUP,
which stop the worker's JVM before the command returns.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from fishshop_workers.embedded.connect import EmbeddedConnect, ensure_sink_plugin

__all__ = ["run_connect"]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_connect(args: argparse.Namespace) -> int:
    """Run the worker until told to stop; 0 when stopped by a signal or Ctrl-C.
    With ``--install-plugin DIR``, only fetch the sink plugin into DIR (for a
    Connect cluster of one's own, such as an init container's) and return."""
    if args.install_plugin is not None:
        plugin_path = ensure_sink_plugin(sys.stderr, Path(args.install_plugin))
        print(f"fishshop: plugin.path={plugin_path}", file=sys.stderr)
        return 0
    # SIGTERM and SIGHUP (the terminal closed) stop it as Ctrl-C does, so the JVM
    # never outlives the command.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
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
