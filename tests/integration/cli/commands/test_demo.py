"""The README's first command: a whole shop on the embedded broker."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.cabinet.keys import RecordKey
from fishshop_workers.cabinet.store import HotCabinet
from fishshop_workers.embedded.redis import EmbeddedRedis
from fishshop_workers.kafka.settings import KafkaSettings
from tests.support.demo import open_demo, still_running
from tests.support.processes import run_fishshop, without_fishshop_variables
from tests.support.readme import fishshop_words

pytestmark = [pytest.mark.broker, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[4]

SUMMARY_FIELDS = {
    "orders_created",
    "orders_served",
    "unserved",
    "duplicates",
    "wait_p50_s",
    "wait_p99_s",
}


def test_two_preparers_on_the_embedded_broker_serve_every_order_once() -> None:
    result = run_fishshop(
        *fishshop_words("fishshop demo --headless --duration 20"), timeout=600, json="1"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) >= SUMMARY_FIELDS
    assert summary["orders_created"] > 0
    assert summary["orders_served"] == summary["orders_created"]
    assert summary["unserved"] == 0
    assert summary["duplicates"] == 0
    assert 0 < summary["wait_p50_s"] <= summary["wait_p99_s"]
    assert "fetching Apache Kafka" in result.stderr or "broker ready" in result.stderr


@pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server is needed for the hot cabinet (apt-get install redis-server)",
)
def test_the_hot_cabinet_serves_cod_and_chips_from_redis_and_its_books_balance() -> None:
    result = run_fishshop(
        *fishshop_words("fishshop demo --scenario hot-cabinet"),
        timeout=900,
        headless="1",
        duration="30",
        json="1",
    )
    assert result.returncode == 0, result.stderr
    assert "Redis ready on redis://127.0.0.1:" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["orders_created"] > 0
    assert summary["orders_served"] == summary["orders_created"]
    assert summary["unserved"] == 0
    assert summary["duplicates"] == 0
    assert summary["served_uncooked"] == 0
    cabinet = summary["cabinet"]
    assert set(cabinet) == {"cod", "chips", "plaice"}
    for item, books in cabinet.items():
        assert books["fried"] == books["served"] + books["left"], item
        assert books["fried"] > 0, item
    assert summary["cabinet_gaps"] == {}
    assert summary["cabinet_kafka_gaps"] == {}, "Redis and Kafka disagree on what was served"
    served = summary["served_from_cabinet"]
    assert 0 < served["orders"] < summary["orders_served"], "some go to the cook, some not"
    assert 0 < served["cod"] <= cabinet["cod"]["served"]
    assert 0 < served["chips"] <= cabinet["chips"]["served"]
    assert served["plaice"] == 0, "plaice is fried to order, never kept in the cabinet"


async def test_the_hot_cabinet_on_a_redis_of_ones_own_starts_each_day_empty(
    kafka: KafkaSettings, redis_server: EmbeddedRedis
) -> None:
    """--redis-url: the demo starts no Redis of its own and empties the shop's cabinet
    each morning. Run twice on the same broker, the second day finds yesterday's
    orders in the topics: it checks the cabinet's books on their own and is clean."""
    run = ["demo", "--scenario", "hot-cabinet", "--headless", "--json"]
    run += ["--bootstrap-servers", kafka.bootstrap_servers, "--redis-url", redis_server.url]
    first = await asyncio.to_thread(run_fishshop, *run, "--duration", "8", timeout=300)
    assert first.returncode == 0, first.stderr
    assert "starting a local Redis" not in first.stderr
    day_one = json.loads(first.stdout)
    assert day_one["cabinet_gaps"] == {} and day_one["cabinet_kafka_gaps"] == {}
    async with HotCabinet.connect(
        CabinetConnection(redis_server.url), "fishshop.hot-cabinet"
    ) as cab:
        assert (await cab.counts()).summary() == day_one["cabinet"]
        # Left overnight: 500 plaice fried for an order nobody will ever serve.
        record = RecordKey("cook", "fishshop.hot-cabinet.cook", 0, 10**9)
        await cab.fry(record, "left-overnight", {"plaice": 500}, CabinetSettings())
    second = await asyncio.to_thread(run_fishshop, *run, "--duration", "10", timeout=300)
    assert second.returncode == 0, second.stderr
    assert "orders of earlier days" in second.stderr
    day_two = json.loads(second.stdout)
    assert day_two["orders_created"] > day_one["orders_created"], "Kafka keeps every day"
    assert day_two["cabinet"]["plaice"]["fried"] < 500, "the cabinet was not emptied"
    assert day_two["cabinet_gaps"] == {} and day_two["cabinet_kafka_gaps"] == {}
    assert day_two["served_from_cabinet"]["orders"] > 0


def test_the_hot_cabinet_without_redis_server_says_how_to_get_it(tmp_path: Path) -> None:
    """No redis-server on the PATH: one clear line saying what to install, before
    any broker is started."""
    bare = tmp_path / "bin"
    bare.mkdir()
    env = without_fishshop_variables()
    env["PATH"] = str(bare)
    result = subprocess.run(
        [sys.executable, "-m", "fishshop", "demo", "--scenario", "hot-cabinet", "--headless"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "apt-get install redis-server" in result.stderr
    assert "--redis-url" in result.stderr
    assert "Traceback" not in result.stderr
    assert "starting the embedded Kafka broker" not in result.stderr


def test_a_fishshop_manifest_runs_with_plaice_through_the_cook(
    kafka: KafkaSettings, shop_name: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "shop.yaml"
    manifest.write_text(f"""\
apiVersion: fishshop.dev/v1alpha1
kind: FishShop
metadata:
  name: {shop_name}
spec:
  partitions: 2
  tills: {{replicas: 2, ordersPerMinute: 300}}
  preparers: {{replicas: 1, prepSeconds: {{min: 0.01, max: 0.02}}}}
  cooks: {{replicas: 1, cookSeconds: {{min: 0.2, max: 0.3}}}}
""")
    result = run_fishshop(
        "demo",
        "-f",
        str(manifest),
        "--duration",
        "8",
        "--headless",
        "--bootstrap-servers",
        kafka.bootstrap_servers,
        "--json",
        "--seed",
        "7",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["orders_created"] > 10
    assert summary["unserved"] == 0
    assert summary["duplicates"] == 0
    audit = run_fishshop(
        "audit", "--shop", shop_name, "--bootstrap-servers", kafka.bootstrap_servers, "--json"
    )
    assert json.loads(audit.stdout)["orders_served"] == summary["orders_served"]


def test_the_sample_manifest_runs_as_the_readme_says(tmp_path: Path) -> None:
    """`fishshop demo -f manifests/samples/harbour.yaml --json`, from the checkout, on
    a broker of its own: the sample's kafka address is for a cluster, not the demo."""
    env = without_fishshop_variables()
    env.update(FISHSHOP_DURATION="10")
    result = subprocess.run(
        [sys.executable, "-m", "fishshop",
         *fishshop_words("fishshop demo -f manifests/samples/harbour.yaml --json")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["orders_created"] > 0
    assert summary["orders_served"] == summary["orders_created"]
    assert summary["unserved"] == 0 and summary["duplicates"] == 0
    assert "shop 'harbour' open" in result.stderr


def test_an_invalid_manifest_is_refused_with_the_field_named(tmp_path: Path) -> None:
    manifest = tmp_path / "shop.yaml"
    manifest.write_text("""\
apiVersion: fishshop.dev/v1alpha1
kind: FishShop
metadata: {name: broken}
spec:
  preparers: {prepSeconds: {min: 2, max: 1}}
""")
    result = run_fishshop("demo", "-f", str(manifest), "--headless")
    assert result.returncode == 2
    assert "spec.preparers.prepSeconds" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_stops_the_demo_and_its_broker() -> None:
    demo = open_demo("--duration", "120")
    assert demo.children, "the demo should have started its broker"
    demo.process.send_signal(signal.SIGTERM)
    _, rest = demo.process.communicate(timeout=60)
    assert demo.process.returncode == 130, "".join(demo.seen) + rest
    assert "interrupted" in rest
    assert "Traceback" not in rest
    assert still_running(demo.children) == [], "the demo's broker is still running"
