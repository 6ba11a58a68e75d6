"""The Grafana dashboards' queries, the series the code exports, and a real Prometheus.

Prometheus is Debian's package (``/usr/bin/prometheus``), started on a loopback port
with a static scrape configuration and its storage in a temporary folder, and
always stopped: use it as a context manager.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from fishshop_operator.metrics import OperatorMetrics
from fishshop_workers.cabinet.metrics import CabinetMetrics
from fishshop_workers.roles.metrics import ShopMetrics
from tests.support.cluster import free_port

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "charts" / "fishshop" / "dashboards"
ALERT_RULES = ROOT / "charts" / "fishshop" / "rules" / "fishshop-alerts.yaml"
ALERT_RULE_TESTS = ROOT / "tests" / "rules" / "fishshop-alerts.test.yaml"

SCRAPE_LABELS = frozenset({"namespace", "job", "instance", "pod"})
"""Labels the scrape adds (a PodMonitor, or the test's static configuration)."""

_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
_SELECTOR = re.compile(r"\b(fishshop_\w+)\b(\{[^}]*\})?")
_MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")


# -- dashboards ---------------------------------------------------------------------


def load_dashboard(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, with the panels a collapsed row holds."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def targets(dashboard: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query of the dashboard."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def variables_in(expr: str) -> set[str]:
    """Names of the Grafana variables an expression uses: $name, ${name}, ${name:fmt}."""
    return {braced or bare for braced, bare in _VARIABLE.findall(expr)}


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """What Grafana sends Prometheus; a variable without a value is a KeyError."""
    return _VARIABLE.sub(lambda m: values[m.group(1) or m.group(2)], expr)


def selectors(expr: str) -> Iterator[tuple[str, set[str], str]]:
    """(metric, label names matched, the matchers' text) for each fishshop series."""
    for metric, braces in _SELECTOR.findall(expr):
        yield metric, set(_MATCHER.findall(braces)), braces


# -- what the code exports ----------------------------------------------------------


def exported_series() -> dict[str, frozenset[str]]:
    """Every sample name the workers and the operator export, with its label names.

    Built from the real metric classes, so a renamed series breaks the dashboards'
    and the alerts' tests rather than a panel in somebody's Grafana.
    """
    shop_registry = CollectorRegistry()
    shop = ShopMetrics("harbour", "preparer", "preparer-0", shop_registry)
    shop.orders_created.labels("harbour", "1").inc()
    shop.set_lag("fishshop.harbour.orders", 0, 0)
    CabinetMetrics("harbour", shop_registry)
    operator = OperatorMetrics(CollectorRegistry())
    operator.shop_ready.labels("fs-a", "harbour").set(1)
    operator.shop_queued.labels("fs-a", "harbour").set(0)
    operator.shop_queued_for_cook.labels("fs-a", "harbour").set(0)
    found: dict[str, frozenset[str]] = {}
    for registry in (shop_registry, operator.registry):
        for family in registry.collect():
            for sample in family.samples:
                found[sample.name] = frozenset(sample.labels) - {"le"}
    return found


# -- promtool and prometheus --------------------------------------------------------


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name} is missing: install Debian's prometheus package "
            "(scripts/install-test-deps.sh does)"
        )
    return found


@dataclass
class ScrapeJob:
    """One scrape job: a ``job`` label, static targets and the labels they get."""

    name: str
    targets: list[str]
    labels: dict[str, str] = field(default_factory=dict)
    honor_labels: bool = False

    def config(self) -> dict[str, Any]:
        return {
            "job_name": self.name,
            "honor_labels": self.honor_labels,
            "static_configs": [{"targets": self.targets, "labels": self.labels}],
        }


class Prometheus:
    """A real Prometheus scraping ``jobs`` and evaluating ``rule_files`` every
    ``scrape_interval``."""

    def __init__(
        self,
        workdir: Path,
        jobs: list[ScrapeJob],
        rule_files: list[Path] | None = None,
        scrape_interval: str = "1s",
    ) -> None:
        self.workdir = workdir
        self.jobs = jobs
        self.rule_files = rule_files or []
        self.scrape_interval = scrape_interval
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def config(self) -> dict[str, Any]:
        return {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.scrape_interval,
            },
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [job.config() for job in self.jobs],
        }

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary("prometheus"),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1h",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prometheus did not become ready:\n{self.log()}")
            time.sleep(0.2)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Prometheus:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, path: str, **params: str | list[str]) -> dict[str, Any]:
        """GET an HTTP API path; Prometheus's error answers are returned, not raised."""
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            body = error.read()
        data: dict[str, Any] = json.loads(body)
        return data

    def query(self, expr: str) -> dict[str, Any]:
        """An instant query: ``{"status": ..., "data": {"resultType", "result"}}``."""
        return self.api("/api/v1/query", query=expr)

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule with its ``health`` and, for alerts, its active ``alerts``."""
        answer = self.api("/api/v1/rules")
        assert answer["status"] == "success", answer
        return [rule for group in answer["data"]["groups"] for rule in group["rules"]]

    def label_values(self, label: str, match: str) -> list[str]:
        answer = self.api(f"/api/v1/label/{label}/values", **{"match[]": [match]})
        assert answer["status"] == "success", answer
        return list(answer["data"])
