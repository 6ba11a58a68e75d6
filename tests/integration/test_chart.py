"""The Helm chart: lint, schema, one source for the CRD, and rendered objects that the
real API server accepts (with the Prometheus Operator's CRDs for the monitoring)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cluster import ROOT, Cluster
from tests.support.tools import build_helm, monitoring_crds

CHART = ROOT / "charts" / "fishshop"
MONITORING_ON = [
    "--set", "monitoring.podMonitor.enabled=true",
    "--set", "monitoring.prometheusRule.enabled=true",
    "--set", "monitoring.dashboards.enabled=true",
]  # fmt: skip


@pytest.fixture(scope="module")
def helm() -> Path:
    return build_helm()


def run_helm(helm: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(helm), *args], capture_output=True, text=True, check=False)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


KUBE_VERSION = ["--kube-version", "v1.34.4"]  # the test control plane's


def render(helm: Path, namespace: str, *args: str) -> list[dict[str, Any]]:
    out = run_helm(
        helm, "template", "fishshop", str(CHART), "-n", namespace, *KUBE_VERSION, *args
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_the_chart_crd_is_the_one_in_manifests() -> None:
    """`make chart-crd` copies it; this fails when the copies differ."""
    source = ROOT / "manifests" / "crd" / "fishshops.fishshop.dev.yaml"
    copy = CHART / "crds" / "fishshops.fishshop.dev.yaml"
    assert copy.read_bytes() == source.read_bytes(), "run `make chart-crd`"


def test_helm_lint_passes_with_default_and_monitoring_values(helm: Path) -> None:
    run_helm(helm, "lint", "--strict", str(CHART))
    run_helm(helm, "lint", "--strict", str(CHART), *MONITORING_ON)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["--set", "image.pullPolicy=Sometimes"], "pullPolicy"),
        (["--set", "operator.logLevel=LOUD"], "logLevel"),
        (["--set", "service.metricsPort=0"], "metricsPort"),
        (["--set", "service.healthPort=70000"], "healthPort"),
        (["--set", "operator.resyncSeconds=-5"], "resyncSeconds"),
        (["--set-string", "monitoring.podMonitor.enabled=yes"], "enabled"),
        (["--set", "monitoring.podMonitor.interval=often"], "interval"),
        (["--set", "colour=red"], "colour"),
        (["--set", "operator.watchNamespaces[0]=Bad_Name"], "watchNamespaces"),
        (["--set", "image.repository="], "repository"),
    ],
)
def test_values_schema_refuses_wrong_values(helm: Path, values: list[str], message: str) -> None:
    result = run_helm(helm, "template", "fishshop", str(CHART), *KUBE_VERSION, *values, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


def test_monitoring_is_off_by_default_and_one_value_each_turns_it_on(helm: Path) -> None:
    kinds = {doc["kind"] for doc in render(helm, "fishshop-system")}
    assert kinds == {
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment", "Pod",
    }  # fmt: skip
    for value, kind in (
        ("monitoring.podMonitor.enabled", "PodMonitor"),
        ("monitoring.prometheusRule.enabled", "PrometheusRule"),
        ("monitoring.dashboards.enabled", "ConfigMap"),
    ):
        docs = render(helm, "fishshop-system", "--set", f"{value}=true")
        assert kind in {doc["kind"] for doc in docs}, value


def test_the_chart_grants_the_same_rules_as_the_plain_manifests(helm: Path) -> None:
    (role,) = [d for d in render(helm, "fishshop-system") if d["kind"] == "ClusterRole"]
    plain = yaml.safe_load_all((ROOT / "manifests" / "operator" / "rbac.yaml").read_text())
    (plain_role,) = [d for d in plain if d and d["kind"] == "ClusterRole"]
    assert role["rules"] == plain_role["rules"]


def test_dashboards_and_alerts_ship_as_the_files_that_are_tested(helm: Path) -> None:
    docs = render(helm, "fishshop-system", *MONITORING_ON)
    maps = [d for d in docs if d["kind"] == "ConfigMap"]
    shipped = {name: body for m in maps for name, body in m["data"].items()}
    files = {p.name: p.read_text() for p in (CHART / "dashboards").glob("*.json")}
    assert files
    assert {k: v.strip() for k, v in shipped.items()} == {k: v.strip() for k, v in files.items()}
    for configmap in maps:
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    rules = yaml.safe_load((CHART / "rules" / "fishshop-alerts.yaml").read_text())
    assert rule["spec"] == rules


def test_the_operator_deployment_is_locked_down(helm: Path) -> None:
    (deployment,) = [d for d in render(helm, "fishshop-system") if d["kind"] == "Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"] == "fishshop:0.1.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["FISHSHOP_WORKER_IMAGE"] == "fishshop:0.1.0"
    watched = render(helm, "fishshop-system", "--set", "operator.watchNamespaces={shops-a,shops-b}")
    (deployment,) = [d for d in watched if d["kind"] == "Deployment"]
    env = {
        e["name"]: e["value"]
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["FISHSHOP_WATCH_NAMESPACE"] == "shops-a,shops-b"


@pytest.fixture(scope="module")
def monitoring_api(cluster: Cluster) -> Cluster:
    """The Prometheus Operator's CRDs, installed in the test API server."""
    for crd in monitoring_crds():
        cluster.kubectl("apply", "--server-side", "-f", str(crd))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s",
        "crd/podmonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com",
    )  # fmt: skip
    return cluster


@pytest.mark.parametrize("monitoring", [False, True], ids=["defaults", "monitoring-on"])
def test_rendered_chart_passes_a_server_side_dry_run(
    helm: Path, monitoring_api: Cluster, namespace: str, monitoring: bool
) -> None:
    args = MONITORING_ON if monitoring else []
    out = run_helm(
        helm, "template", "fishshop", str(CHART), "-n", namespace, *KUBE_VERSION, *args
    ).stdout
    result = monitoring_api.kubectl(
        "--warnings-as-errors", "apply", "--dry-run=server", "-n", namespace, "-f", "-",
        input=out,
    )  # fmt: skip
    lines = [line for line in result.splitlines() if line]
    assert lines
    assert all(line.endswith("(server dry run)") for line in lines), result
    assert any(line.startswith("deployment.apps/fishshop") for line in lines)
    if monitoring:
        assert any(line.startswith("podmonitor.monitoring.coreos.com/") for line in lines)
        assert any(line.startswith("prometheusrule.monitoring.coreos.com/") for line in lines)
    # The CRD in crds/ is the one the test cluster already runs.
    crd = run_helm(helm, "show", "crds", str(CHART)).stdout
    assert "fishshops.fishshop.dev" in crd


def test_install_notes_say_what_to_do_next(helm: Path, cluster: Cluster) -> None:
    result = subprocess.run(
        [str(helm), "install", "fishshop", str(CHART), "--dry-run=client", "-n", "fishshop-system"],
        capture_output=True,
        text=True,
        check=False,
        env=cluster.env(),
    )
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "kubectl wait --for=condition=Ready fishshop/harbour" in notes
    assert "helm test fishshop" in notes
    assert "Monitoring is off" in notes
