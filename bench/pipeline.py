"""Orders per second through fishshop (tills, a preparer, served) and through a
bare aiokafka loop with the same delivery promise, on the same broker, in one run.

    python bench/pipeline.py [--orders 30000] [--bootstrap-servers HOST:PORT]

Both sides: 3 producing processes (tills, or bare producers) writing N orders to
a 3-partition topic as fast as they can, and 1 consuming process writing each
order to an output topic inside Kafka transactions with the offsets, read back
``read_committed``. Prep and cook delays are zero. The figure is end to end:
N divided by the time from starting the producers to the last committed output.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from fishshop_workers.broker.server import EmbeddedBroker
from fishshop_workers.kafka_settings import KafkaSettings
from fishshop_workers.kafka_topics import ensure_topics
from fishshop_workers.topics import ShopTopics, default_prefix

HERE = Path(__file__).resolve().parent


async def _await_outputs(
    bootstrap: str, topic: str, count: int, patience: float, partitions: int
) -> float:
    """Wait until ``count`` committed records are in ``topic``; return when."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=10000,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        deadline = time.monotonic() + patience
        while seen < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {seen} of {count} outputs after {patience}s")
            for records in (await consumer.getmany(timeout_ms=100)).values():
                seen += len(records)
        return time.monotonic()
    finally:
        await consumer.stop()


def _spawn(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )


def _cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) a running or finished-but-unreaped process used."""
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


CPU: dict[str, dict[str, float]] = {}
PROFILE: Path | None = None
"""Where py-spy writes each fishshop process's stacks (``--profile``), if anywhere."""


def _profile(processes: list[tuple[subprocess.Popen[bytes], str]]) -> list[subprocess.Popen[bytes]]:
    """Sample each process with py-spy until it exits (its raw stacks in PROFILE)."""
    if PROFILE is None:
        return []
    return [
        subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(process.pid),
                "--rate",
                "200",
                "--nonblocking",
                "--format",
                "raw",
                "-o",
                str(PROFILE / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for process, name in processes
    ]


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _record_cpu(
    name: str, producers: list[subprocess.Popen[bytes]], consumer: subprocess.Popen[bytes]
) -> None:
    producing = 0.0
    for process in producers:  # they stop by themselves after their share
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        producing += usage.ru_utime + usage.ru_stime
    CPU[name] = {
        "producers": producing,
        "consumer": _cpu_seconds(consumer),
    }


Command = tuple[list[str], str]
"""A process to start: its arguments and its log's name."""


def _time_pipeline(
    name: str,
    bootstrap: str,
    served: str,
    orders: int,
    partitions: int,
    logs: Path,
    consumer: Command,
    producers: list[Command],
    env: dict[str, str] | None = None,
) -> float:
    """Start the consumer, let it join its group, then time the producers' orders
    through to ``served``."""
    relay = _spawn(consumer[0], logs / consumer[1], env)
    time.sleep(3)
    started = time.monotonic()
    writers = [_spawn(argv, logs / log, env) for argv, log in producers]
    samplers = (
        _profile(
            [
                (relay, consumer[1][:-4]),
                *((w, log[:-4]) for w, (_, log) in zip(writers, producers, strict=True)),
            ]
        )
        if name == "fishshop"
        else []
    )
    try:
        done = asyncio.run(_await_outputs(bootstrap, served, orders, 600, partitions))
        _record_cpu(name, writers, relay)
    finally:
        for process in [*writers, relay]:
            process.terminate()
            process.wait()
        for sampler in samplers:
            sampler.wait()
    return done - started


def run_fishshop(bootstrap: str, orders: int, partitions: int, logs: Path) -> float:
    shop = f"bench{uuid.uuid4().hex[:6]}"
    topics = ShopTopics.from_prefix(default_prefix(shop))
    asyncio.run(ensure_topics(KafkaSettings(bootstrap), topics, partitions))
    fishshop = [sys.executable, "-m", "fishshop"]
    preparer = [*fishshop, "preparer", "--prep-min", "0", "--prep-max", "0"]
    tills = [
        (
            [
                *fishshop,
                "till",
                "--till",
                str(n + 1),
                "--orders-per-minute",
                "0",
                "--max-orders",
                str(share),
            ],
            f"till-{n + 1}.log",
        )
        for n, share in enumerate(_split(orders, 3))
    ]
    env = {
        "FISHSHOP_SHOP": shop,
        "FISHSHOP_BOOTSTRAP_SERVERS": bootstrap,
        "FISHSHOP_METRICS_PORT": "0",
        "FISHSHOP_LOG_LEVEL": "WARNING",
    }
    return _time_pipeline(
        "fishshop",
        bootstrap,
        topics.served,
        orders,
        partitions,
        logs,
        (preparer, "preparer.log"),
        tills,
        env,
    )


def run_bare(bootstrap: str, orders: int, partitions: int, logs: Path) -> float:
    prefix = f"bare{uuid.uuid4().hex[:6]}"
    topics = ShopTopics.from_prefix(prefix)
    asyncio.run(ensure_topics(KafkaSettings(bootstrap), topics, partitions))
    script = [sys.executable, str(HERE / "bare_loop.py")]
    relay = [*script, "relay", bootstrap, topics.orders, topics.served, f"{prefix}.relay"]
    producers = [
        (
            [*script, "produce", bootstrap, topics.orders, str(share), str(n % partitions)],
            f"producer-{n}.log",
        )
        for n, share in enumerate(_split(orders, 3))
    ]
    return _time_pipeline(
        "bare aiokafka",
        bootstrap,
        topics.served,
        orders,
        partitions,
        logs,
        (relay, "relay.log"),
        producers,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--profile", type=Path, help="write py-spy stacks of fishshop here")
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    if PROFILE is not None:
        PROFILE.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="fishshop-bench-"))
    broker = None
    bootstrap = args.bootstrap_servers
    if not bootstrap:
        broker = EmbeddedBroker(logs / "kafka")
        broker.start()
        bootstrap = broker.bootstrap_servers
    try:
        results: dict[str, list[float]] = {"fishshop": [], "bare aiokafka": []}
        for round_ in range(1, args.rounds + 1):
            for name, run in (("bare aiokafka", run_bare), ("fishshop", run_fishshop)):
                seconds = run(bootstrap, args.orders, args.partitions, logs)
                rate = args.orders / seconds
                results[name].append(rate)
                print(
                    f"round {round_}: {name:14s} {args.orders} orders in "
                    f"{seconds:6.2f}s = {rate:8.0f} orders/s",
                    flush=True,
                )
        best = {name: max(rates) for name, rates in results.items()}
        print(
            f"\nbest of {args.rounds}, {args.orders} orders, {args.partitions} partitions, "
            "exactly-once on both sides:"
        )
        for name, rate in best.items():
            print(f"  {name:14s} {rate:8.0f} orders/s")
        print(f"  ratio fishshop / bare: {best['fishshop'] / best['bare aiokafka']:.2f}")
        print("CPU seconds in the last round (2 cores shared with the broker):")
        for name, cpu in CPU.items():
            print(
                f"  {name:14s} producing {cpu['producers']:5.2f}  "
                f"consuming and producing {cpu['consumer']:5.2f}"
            )
        print(f"(logs in {logs})")
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
