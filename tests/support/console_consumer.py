"""An audit that shares no code with fishshop's: Kafka's own console consumer reads
the shop's topics (``read_committed``), and the books are kept here in a few lines."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from fishshop_workers.embedded.jars import ensure_jars
from fishshop_workers.embedded.process import java_command

CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"

# The tool's own log lines go to stderr, so stdout holds record values only.
LOG4J2_STDERR = """\
status = warn
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = err
"""


class ConsoleBooks(NamedTuple):
    """What Kafka's console consumer found in a shop's topics."""

    created: int
    served: int
    unserved: int
    duplicates: int
    served_unknown: int
    dlq: int


def read_committed(
    bootstrap: str, topic: str, work_dir: Path, idle_ms: int = 10_000, timeout: float = 120.0
) -> list[str]:
    """Every committed record value of ``topic``, one line each.

    The tool stops once no record came for ``idle_ms``; that also covers its own
    start (joining its group), so the idle time is generous.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    log_config = work_dir / "log4j2-console.properties"
    log_config.write_text(LOG4J2_STDERR)
    command = java_command(
        ensure_jars(progress=None),
        CONSOLE_CONSUMER,
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--isolation-level",
        "read_committed",
        "--timeout-ms",
        str(idle_ms),
        heap_mb=256,
        logs_dir=work_dir,
        log_config=log_config,
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    processed = f"Processed a total of {len(result.stdout.splitlines())} messages"
    if processed not in result.stderr:
        raise AssertionError(
            f"the console consumer on {topic} did not finish cleanly "
            f"(exit {result.returncode}): {result.stderr[-3000:]}"
        )
    return result.stdout.splitlines()


def console_books(
    bootstrap: str, orders: str, served: str, dlq: str, work_dir: Path
) -> ConsoleBooks:
    """Read the three topics side by side and keep the books."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [
            pool.submit(read_committed, bootstrap, topic, work_dir / name)
            for name, topic in (("orders", orders), ("served", served), ("dlq", dlq))
        ]
        order_lines, served_lines, dlq_lines = (future.result() for future in futures)
    return keep_books(order_lines, served_lines, dlq_lines)


def keep_books(
    order_lines: list[str], served_lines: list[str], dlq_lines: list[str]
) -> ConsoleBooks:
    """An order is created by its first record on orders (the cook's ``ready``
    copy comes back under the same id) and served by each record on served."""
    orders = [json.loads(line) for line in order_lines]
    created = {order["id"] for order in orders if order.get("ready") is not True}
    served = Counter(json.loads(line)["id"] for line in served_lines)
    return ConsoleBooks(
        created=len(created),
        served=len(set(served) & created),
        unserved=len(created - set(served)),
        duplicates=sum(count - 1 for count in served.values()),
        served_unknown=len(set(served) - created),
        dlq=len(dlq_lines),
    )
