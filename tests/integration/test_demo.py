"""The README's first command: a whole shop on the embedded broker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fishshop_workers.kafka_settings import KafkaSettings
from tests.support.processes import run_fishshop

pytestmark = [pytest.mark.broker, pytest.mark.slow]

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
        "demo",
        "--scenario",
        "two-preparers",
        "--duration",
        "20",
        "--headless",
        "--json",
        timeout=600,
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
    process = subprocess.Popen(
        [sys.executable, "-m", "fishshop", "demo", "--duration", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "taken" in line:  # the shop is open and serving
            break
    # This demo's own children (the broker among them), not other demos on the machine.
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert children, "the demo should have started its broker"
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest
    assert "Traceback" not in rest
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert alive == [], "the demo's broker is still running"
