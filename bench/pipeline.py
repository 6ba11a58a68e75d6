"""Orders per second through fishshop and through a bare aiokafka loop with the same
delivery promise, path by path, on the same broker, in one run.

    python bench/pipeline.py [--orders 30000] [--rounds 3] [--partitions 3]
                             [--paths orders,two-preparers,cook]
                             [--bootstrap-servers HOST:PORT] [--profile DIR]

Paths (prep and cook delays are zero; every hop is consume-transform-produce inside
Kafka transactions with the offsets, read back ``read_committed``):

- ``orders``: 3 tills write N orders as fast as they can; 1 preparer serves them.
  Bare: 3 idempotent producers and 1 textbook relay.
- ``two-preparers``: the same with 2 preparers in one group. Bare: 2 relays in one
  group.
- ``cook``: N plaice orders (written by the bare producers on both sides, since a
  till puts plaice in only some orders) go preparer -> cook -> back to orders ->
  preparer -> served. Bare: the relay and a second textbook loop for the cook.

Two figures per side: end to end, N divided by the time from starting the producers
to the last committed output in ``served`` (start-up included), and steady, the
orders per second from the tenth to the ninetieth percent of outputs (every process
running, none out of work). Consumers start first and are timed only once
their groups are stable. CPU seconds: the producers' whole lives (they start inside
the timed window, imports included), the consumers' from the start of the window.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.kafka.admin import ensure_topics
from fishshop_workers.kafka.settings import KafkaSettings
from fishshop_workers.shop.topics import ShopTopics, cooks_group, default_prefix, preparers_group

HERE = Path(__file__).resolve().parent
PATHS = ("orders", "two-preparers", "cook")
PROFILE: Path | None = None
"""Where py-spy writes each fishshop process's stacks (``--profile``), if anywhere."""

Command = tuple[list[str], str]
"""A process to start: its arguments and its log's name."""


@dataclass(frozen=True)
class Side:
    """One side of a path: who writes the orders, who moves them, which groups form."""

    producers: list[Command]
    consumers: list[Command]
    groups: list[tuple[str, int]]
    """Consumer groups and how many members each must have before timing starts."""
    served: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    seconds: float
    """From starting the producers to the last output."""
    steady_rate: float
    """Orders per second from the tenth to the ninetieth percent of outputs, when
    every process has started and none has run out of work."""
    producing_cpu: float
    consuming_cpu: float


async def _await_outputs(
    bootstrap: str, topic: str, count: int, patience: float, partitions: int
) -> tuple[float, float, float]:
    """Wait until ``count`` committed records are in ``topic``; return when a tenth,
    nine tenths and all of them were there."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=1000,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        marks: list[float] = []
        deadline = time.monotonic() + patience
        while seen < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {seen} of {count} outputs after {patience}s")
            for records in (await consumer.getmany(timeout_ms=20)).values():
                seen += len(records)
            while len(marks) < 2 and seen >= count * (1 + 8 * len(marks)) / 10:
                marks.append(time.monotonic())
        return marks[0], marks[1], time.monotonic()
    finally:
        await consumer.stop()


async def _await_groups(bootstrap: str, groups: list[tuple[str, int]], patience: float) -> None:
    """Wait until every group is stable with its members (then they own partitions)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + patience
        for group, members in groups:
            while True:
                try:
                    [response] = await admin.describe_consumer_groups([group])
                except KafkaError:  # the group's coordinator is still starting
                    response = None
                if response is not None:
                    _, _, state, _, _, joined, *_ = response.groups[0]
                    if state == "Stable" and len(joined) == members:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"group {group} not stable with {members} members")
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )


def _cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) a running or finished-but-unreaped process used."""
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _reap(producers: list[subprocess.Popen[bytes]]) -> float:
    """Wait for the producers (they stop after their share); their CPU seconds."""
    used = 0.0
    for process in producers:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        used += usage.ru_utime + usage.ru_stime
    return used


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


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


def _time(
    side: Side, bootstrap: str, orders: int, partitions: int, logs: Path, profile_as: str
) -> Run:
    """Start the consumers, wait for their groups, then time the producers' orders
    through to ``served``."""
    relays = [_spawn(argv, logs / log, side.env) for argv, log in side.consumers]
    samplers: list[subprocess.Popen[bytes]] = []
    writers: list[subprocess.Popen[bytes]] = []
    try:
        asyncio.run(_await_groups(bootstrap, side.groups, 60))
        time.sleep(1)  # fishshop takes a partition (its producer) just after joining
        # Start-up is not the loop's work: count the consumers' CPU from here.
        idle = sum(_cpu_seconds(relay) for relay in relays)
        started = time.monotonic()
        writers = [_spawn(argv, logs / log, side.env) for argv, log in side.producers]
        if profile_as:
            named = [*zip(relays, side.consumers, strict=True)]
            named += [*zip(writers, side.producers, strict=True)]
            samplers = _profile([(p, f"{profile_as}-{log[:-4]}") for p, (_, log) in named])
        tenth, nine_tenths, done = asyncio.run(
            _await_outputs(bootstrap, side.served, orders, 600, partitions)
        )
        producing = _reap(writers)
        consuming = sum(_cpu_seconds(relay) for relay in relays) - idle
    finally:
        for process in [*writers, *relays]:
            if process.returncode is None:
                process.terminate()
                process.wait()
        for sampler in samplers:
            sampler.wait()
    return Run(done - started, 0.8 * orders / (nine_tenths - tenth), producing, consuming)


def _bare_producers(
    bootstrap: str, topic: str, orders: int, partitions: int, plaice: bool
) -> list[Command]:
    script = [sys.executable, str(HERE / "bare_loop.py"), "produce"]
    return [
        (
            [
                *script,
                bootstrap,
                topic,
                str(share),
                str(n % partitions),
                *(["--plaice"] if plaice else []),
            ],
            f"producer-{n}.log",
        )
        for n, share in enumerate(_split(orders, 3))
    ]


def fishshop_side(path: str, bootstrap: str, orders: int, partitions: int) -> Side:
    shop = f"bench{uuid.uuid4().hex[:6]}"
    prefix = default_prefix(shop)
    topics = ShopTopics.from_prefix(prefix)
    asyncio.run(ensure_topics(KafkaSettings(bootstrap), topics, partitions))
    fishshop = [sys.executable, "-m", "fishshop"]
    count = 2 if path == "two-preparers" else 1
    preparer = [*fishshop, "preparer", "--prep-min", "0", "--prep-max", "0"]
    consumers = [
        (
            [*preparer, "--worker-name", f"preparer-{n}"],
            f"preparer-{n}.log",
        )
        for n in range(1, count + 1)
    ]
    groups = [(preparers_group(prefix), count)]
    if path == "cook":
        consumers.append(([*fishshop, "cook", "--cook-min", "0", "--cook-max", "0"], "cook.log"))
        groups.append((cooks_group(prefix), 1))
        producers = _bare_producers(bootstrap, topics.orders, orders, partitions, plaice=True)
    else:
        till = [*fishshop, "till", "--orders-per-minute", "0", "--till"]
        producers = [
            (
                [*till, str(n + 1), "--max-orders", str(share)],
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
    return Side(producers, consumers, groups, topics.served, env)


def bare_side(path: str, bootstrap: str, orders: int, partitions: int) -> Side:
    prefix = f"bare{uuid.uuid4().hex[:6]}"
    topics = ShopTopics.from_prefix(prefix)
    asyncio.run(ensure_topics(KafkaSettings(bootstrap), topics, partitions))
    script = [sys.executable, str(HERE / "bare_loop.py")]
    group = f"{prefix}.relay"
    count = 2 if path == "two-preparers" else 1
    relay = [*script, "relay", bootstrap, topics.orders, topics.served, topics.cook, group]
    consumers = [([*relay, "--member", str(n)], f"relay-{n}.log") for n in range(1, count + 1)]
    groups = [(group, count)]
    if path == "cook":
        cook_group = f"{prefix}.cook"
        consumers.append(
            (
                [
                    *script,
                    "cook",
                    bootstrap,
                    topics.cook,
                    topics.orders,
                    cook_group,
                    f"{partitions}",
                ],
                "cook.log",
            )
        )
        groups.append((cook_group, 1))
    producers = _bare_producers(bootstrap, topics.orders, orders, partitions, path == "cook")
    return Side(producers, consumers, groups, topics.served)


TITLES = {
    "orders": "orders, 1 preparer",
    "two-preparers": "orders, 2 preparers",
    "cook": "plaice via the cook",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated")
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--profile", type=Path, help="write py-spy stacks of fishshop here")
    args = parser.parse_args()
    paths = [path for path in args.paths.split(",") if path]
    unknown = set(paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown paths {sorted(unknown)}; known: {', '.join(PATHS)}")
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
    sides = {"bare": bare_side, "fishshop": fishshop_side}
    runs: dict[tuple[str, str], list[Run]] = {}
    try:
        for round_ in range(1, args.rounds + 1):
            for path in paths:
                line = f"round {round_}: {TITLES[path]:20s}"
                rates = {}
                for name, build in sides.items():
                    side = build(path, bootstrap, args.orders, args.partitions)
                    where = logs / f"{path}-{name}-{round_}"
                    where.mkdir()
                    profile_as = f"{path}" if name == "fishshop" and PROFILE else ""
                    run = _time(side, bootstrap, args.orders, args.partitions, where, profile_as)
                    runs.setdefault((path, name), []).append(run)
                    rates[name] = args.orders / run.seconds
                    line += f"  {name} {rates[name]:6.0f}/s (steady {run.steady_rate:6.0f})"
                line += f"  ratio {rates['fishshop'] / rates['bare']:.2f}"
                print(line, flush=True)
        print(
            f"\nbest of {args.rounds}, {args.orders} orders, {args.partitions} partitions, "
            "exactly-once on both sides (orders/s; CPU s are means over the rounds,"
            " bare / fishshop, on 2 cores shared with the broker):"
        )
        print(
            f"  {'path':20s} {'':9s} {'bare':>7s} {'fishshop':>9s} {'ratio':>6s}"
            f"  {'CPU s producing':>16s}  {'CPU s consuming+producing':>26s}"
        )
        for path in paths:
            bare, shop = runs[(path, "bare")], runs[(path, "fishshop")]
            steady_bare = max(r.steady_rate for r in bare)
            steady_shop = max(r.steady_rate for r in shop)
            print(
                f"  {TITLES[path]:20s} {'steady':9s} {steady_bare:7.0f} {steady_shop:9.0f} "
                f"{steady_shop / steady_bare:6.2f}"
            )
            best_bare = args.orders / min(r.seconds for r in bare)
            best_shop = args.orders / min(r.seconds for r in shop)
            producing = " / ".join(
                f"{statistics.mean(r.producing_cpu for r in side):.2f}" for side in (bare, shop)
            )
            consuming = " / ".join(
                f"{statistics.mean(r.consuming_cpu for r in side):.2f}" for side in (bare, shop)
            )
            print(
                f"  {'':20s} {'end to end':9s} {best_bare:6.0f} {best_shop:9.0f} "
                f"{best_shop / best_bare:6.2f}  {producing:>16s}  {consuming:>26s}"
            )
        print(f"(logs in {logs})")
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
