"""Orders per second through fishshop and through two textbook loops with the same
delivery promise, one on aiokafka and one on confluent-kafka (librdkafka), path by
path, on the same broker, in one run, paired.

    python bench/pipeline.py [--pairs 5] [--seconds 10.5] [--orders N] [--partitions 3]
                             [--paths orders,two-preparers,cook]
                             [--bootstrap-servers HOST:PORT] [--profile DIR]

Paired: for each path, every side runs once (a warm-up, which sizes each side's runs
to take ``--seconds`` or more, so a fast side's start-up weighs no more than a slow
one's), then ``--pairs`` times back to back, the order of the sides alternating.
Each pair gives fishshop / aiokafka and fishshop / librdkafka; the summary prints the
median of those ratios and their range, so a noisy run moves the range, not the
answer.

Paths (prep and cook delays are zero; every hop is consume-transform-produce inside
Kafka transactions with the offsets, read back ``read_committed``):

- ``orders``: 3 tills write N orders as fast as they can; 1 preparer serves them.
  Baselines: 3 idempotent producers and 1 textbook relay.
- ``two-preparers``: the same with 2 preparers in one group. Baselines: 2 relays
  in one group.
- ``cook``: N plaice orders (written by aiokafka's idempotent producers for fishshop,
  since a till puts plaice in only some orders) go preparer -> cook -> back to orders ->
  preparer -> served. Baselines: the relay and a second textbook loop for the cook.

Two figures per side: end to end, N divided by the time from starting the producers
to the last committed output in ``served`` (start-up included), and steady, the
orders per second from the tenth to the ninetieth percent of outputs (every process
running, none out of work). Consumers start first and are timed only once
their groups are stable. CPU seconds per 100 000 orders (each side's runs have their
own size): the producers' whole lives (they start inside
the timed window, imports included), the consumers' from the start of the window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
        seen: list[bytes] = []
        marks: list[float] = []
        deadline = time.monotonic() + patience
        while len(seen) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(seen)} of {count} outputs after {patience}s")
            for records in (await consumer.getmany(timeout_ms=20)).values():
                seen += [record.value or b"" for record in records]
            while len(marks) < 2 and len(seen) >= count * (1 + 8 * len(marks)) / 10:
                marks.append(time.monotonic())
        done = time.monotonic()
        for records in (await consumer.getmany(timeout_ms=1000)).values():
            seen += [record.value or b"" for record in records]  # none, if none was doubled
        _served_once(seen, count, topic)
        return marks[0], marks[1], done
    finally:
        await consumer.stop()


def _served_once(values: list[bytes], count: int, topic: str) -> None:
    """Every one of ``count`` orders in ``topic`` once: a side that served some twice
    would look faster than it is."""
    orders = {json.loads(value)["id"] for value in values}
    if len(values) != count or len(orders) != count:
        raise RuntimeError(
            f"{topic}: {len(values)} records of {len(orders)} orders, not {count} once each"
        )


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
    """A side's process, with only the FISHSHOP_ variables the bench gives it (one left
    in the shell, FISHSHOP_PLAICE or FISHSHOP_REDIS_URL, would change fishshop's side
    only)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("FISHSHOP_")}
    with log.open("ab") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env={**inherited, **env}
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
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for sampler in samplers:
            sampler.wait()
    return Run(done - started, 0.8 * orders / (nine_tenths - tenth), producing, consuming)


def _bare_producers(
    bootstrap: str, topic: str, orders: int, partitions: int, plaice: bool, loop: str = "bare_loop"
) -> list[Command]:
    script = [sys.executable, str(HERE / f"{loop}.py"), "produce"]
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


def bare_side(
    path: str, bootstrap: str, orders: int, partitions: int, loop: str = "bare_loop"
) -> Side:
    """The textbook loops of ``loop``: bare_loop (aiokafka) or rdkafka_loop (librdkafka)."""
    prefix = f"bare{uuid.uuid4().hex[:6]}"
    topics = ShopTopics.from_prefix(prefix)
    asyncio.run(ensure_topics(KafkaSettings(bootstrap), topics, partitions))
    script = [sys.executable, str(HERE / f"{loop}.py")]
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
    producers = _bare_producers(bootstrap, topics.orders, orders, partitions, path == "cook", loop)
    return Side(producers, consumers, groups, topics.served)


def rdkafka_side(path: str, bootstrap: str, orders: int, partitions: int) -> Side:
    return bare_side(path, bootstrap, orders, partitions, "rdkafka_loop")


TITLES = {
    "orders": "orders, 1 preparer",
    "two-preparers": "orders, 2 preparers",
    "cook": "plaice via the cook",
}

SIDES = {"aiokafka": bare_side, "librdkafka": rdkafka_side, "fishshop": fishshop_side}
"""The shop and its two baselines, each a textbook exactly-once loop."""

BASELINES = ("aiokafka", "librdkafka")


@dataclass
class Pair:
    """One run of every side, back to back on the same broker."""

    runs: dict[str, Run]
    orders: dict[str, int]
    """Each side's: sized so that each run lasts about as long."""

    def rate(self, side: str) -> float:
        return self.orders[side] / self.runs[side].seconds

    def ratio(self, baseline: str, figure: str) -> float:
        if figure == "steady":
            return self.runs["fishshop"].steady_rate / self.runs[baseline].steady_rate
        return self.rate("fishshop") / self.rate(baseline)


def _spread(values: list[float], digits: int = 2) -> str:
    """The median with the range: ``1.04 [0.95-1.10]``."""
    return (
        f"{statistics.median(values):.{digits}f} "
        f"[{min(values):.{digits}f}-{max(values):.{digits}f}]"
    )


MARGIN = 1.15
"""Runs after the warm-up go faster than it did: aim this much beyond ``--seconds``."""


def _calibrate(
    path: str, bootstrap: str, partitions: int, logs: Path, seconds: float
) -> dict[str, int]:
    """Orders for each side's runs to last ``seconds`` or more: a warm-up of each
    (which also warms the broker) gives its start-up and its steady rate."""
    warm = 20000
    orders = {}
    for name, build in SIDES.items():
        where = logs / f"{path}-warm-up-{name}"
        where.mkdir()
        side = build(path, bootstrap, warm, partitions)
        run = _time(side, bootstrap, warm, partitions, where, "")
        start_up = max(0.0, run.seconds - warm / run.steady_rate)
        needed = max(warm, int((seconds * MARGIN - start_up) * run.steady_rate))
        orders[name] = (needed // 1000 + 1) * 1000
    return orders


def _resized(orders: dict[str, int], runs: dict[str, Run], seconds: float) -> dict[str, int]:
    """The next pair's orders: a side whose run took under ``seconds``, or well over
    (the warm-up misjudged it), is sized by that run."""
    resized = {}
    for name, count in orders.items():
        took = runs[name].seconds
        if seconds <= took <= seconds * MARGIN * 1.3:
            resized[name] = count
        else:
            resized[name] = (int(count * seconds * MARGIN / took) // 1000 + 1) * 1000
    return resized


def _summary(pairs: dict[str, list[Pair]]) -> list[str]:
    lines = [
        f"  {'path':20s} {'figure':10s} {'aiokafka':>9s} {'librdkafka':>10s} {'fishshop':>9s}"
        f"  {'fishshop / aiokafka':>20s}  {'fishshop / librdkafka':>22s}"
    ]
    for path, done in pairs.items():
        for figure in ("end to end", "steady"):
            rates = [
                statistics.median(
                    pair.rate(side) if figure == "end to end" else pair.runs[side].steady_rate
                    for pair in done
                )
                for side in SIDES
            ]
            ratios = [_spread([pair.ratio(b, figure) for pair in done]) for b in BASELINES]
            title = TITLES[path] if figure == "end to end" else ""
            lines.append(
                f"  {title:20s} {figure:10s} {rates[0]:9.0f} {rates[1]:10.0f} {rates[2]:9.0f}"
                f"  {ratios[0]:>20s}  {ratios[1]:>22s}"
            )
        for what in ("producing", "consuming"):
            cpu = [
                statistics.median(
                    getattr(pair.runs[side], f"{what}_cpu") * 100_000 / pair.orders[side]
                    for pair in done
                )
                for side in SIDES
            ]
            lines.append(
                f"  {'':20s} {'CPU ' + what[:4]:10s} {cpu[0]:9.2f} {cpu[1]:10.2f} {cpu[2]:9.2f}"
            )
    return lines


FEWEST_ORDERS = 10_000
"""A run's 10 % and 90 % marks, its steady window, must fall in different polls (each
reads up to 1000 records)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="runs of every side, per path")
    parser.add_argument(
        "--seconds", type=float, default=10.5, help="the shortest a run should last"
    )
    parser.add_argument("--orders", type=int, help="orders per run (default: sized by --seconds)")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated")
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--profile", type=Path, help="write py-spy stacks of fishshop here")
    args = parser.parse_args()
    paths = [path for path in args.paths.split(",") if path]
    unknown = set(paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown paths {sorted(unknown)}; known: {', '.join(PATHS)}")
    if args.pairs < 1 or args.seconds <= 0:
        parser.error("--pairs and --seconds must be above 0")
    if args.orders is not None and args.orders < FEWEST_ORDERS:
        parser.error(f"--orders must be {FEWEST_ORDERS} or more")
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
    began = time.monotonic()
    pairs: dict[str, list[Pair]] = {}
    shortest = float("inf")
    try:
        for path in paths:
            if args.orders:
                orders = dict.fromkeys(SIDES, args.orders)
            else:
                orders = _calibrate(path, bootstrap, args.partitions, logs, args.seconds)
            sizes = ", ".join(f"{name} {count}" for name, count in orders.items())
            print(f"{TITLES[path]}: orders a run: {sizes}", flush=True)
            for number in range(1, args.pairs + 1):
                # Alternate which side goes first, so neither always gets the warmer broker.
                order = list(SIDES) if number % 2 else list(reversed(SIDES))
                runs = {}
                for name in order:
                    count = orders[name]
                    side = SIDES[name](path, bootstrap, count, args.partitions)
                    where = logs / f"{path}-{name}-{number}"
                    where.mkdir()
                    profile_as = path if name == "fishshop" and PROFILE else ""
                    runs[name] = _time(side, bootstrap, count, args.partitions, where, profile_as)
                    shortest = min(shortest, runs[name].seconds)
                pair = Pair(runs, dict(orders))
                pairs.setdefault(path, []).append(pair)
                said = "  ".join(
                    f"{name} {pair.rate(name):6.0f}/s (steady {runs[name].steady_rate:6.0f})"
                    for name in SIDES
                )
                ratios = "  ".join(f"/{b} {pair.ratio(b, 'end to end'):.2f}" for b in BASELINES)
                print(f"  pair {number}: {said}  fishshop {ratios}", flush=True)
                if not args.orders and number < args.pairs:
                    resized = _resized(orders, runs, args.seconds)
                    if resized != orders:
                        sizes = ", ".join(f"{name} {count}" for name, count in resized.items())
                        print(f"  from the next pair, orders a run: {sizes}", flush=True)
                    orders = resized
        print(
            f"\n{args.pairs} pairs a path, {args.partitions} partitions, exactly-once on every "
            "side; orders/s and CPU seconds per 100 000 orders are medians, ratios the "
            "median of the pairs' "
            f"ratios [range]; the shortest run took {shortest:.1f} s, the whole bench "
            f"{time.monotonic() - began:.0f} s:"
        )
        print("\n".join(_summary(pairs)))
        print(f"(logs in {logs})")
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
