"""The Helm chart: lint, schema, one source for the CRD, and rendered objects that the
real API server accepts (with the Prometheus Operator's CRDs for the monitoring)."""

from __future__ import annotations

import subprocess
import uuid
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
REDIS_ON = [
    "--set", "redis.enabled=true",
    "--set", "redis.auth.existingSecret=redis-auth",
    "--set", "redis.persistence.enabled=true",
]  # fmt: skip


@pytest.fixture(scope="module")
def helm() -> Path:
    return build_helm()


def run_helm(helm: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(helm), *args], capture_output=True, text=True, check=False)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def render(helm: Path, namespace: str, *args: str) -> list[dict[str, Any]]:
    """The chart as `helm template` renders it offline, as users and GitOps tools do."""
    out = run_helm(helm, "template", "fishshop", str(CHART), "-n", namespace, *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_the_chart_crd_is_the_one_in_manifests() -> None:
    """`make chart-crd` copies it; this fails when the copies differ."""
    source = ROOT / "manifests" / "crd" / "fishshops.fishshop.dev.yaml"
    copy = CHART / "crds" / "fishshops.fishshop.dev.yaml"
    assert copy.read_bytes() == source.read_bytes(), "run `make chart-crd`"


def test_helm_lint_passes_with_default_and_monitoring_values(helm: Path) -> None:
    run_helm(helm, "lint", "--strict", str(CHART))
    run_helm(helm, "lint", "--strict", str(CHART), *MONITORING_ON)
    run_helm(helm, "lint", "--strict", str(CHART), *REDIS_ON)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["--set", "image.pullPolicy=Sometimes"], "pullPolicy"),
        (["--set", "operator.logLevel=LOUD"], "logLevel"),
        (["--set", "service.metricsPort=0"], "metricsPort"),
        (["--set", "service.healthPort=70000"], "healthPort"),
        (["--set", "operator.resyncSeconds=-5"], "resyncSeconds"),
        (["--set", "operator.concurrency=0"], "concurrency"),
        (["--set", "operator.topicPrefixes=all"], "topicPrefixes"),
        (["--set-string", "monitoring.podMonitor.enabled=yes"], "enabled"),
        (["--set", "monitoring.podMonitor.interval=often"], "interval"),
        (["--set", "colour=red"], "colour"),
        (["--set", "operator.watchNamespaces[0]=Bad_Name"], "watchNamespaces"),
        (["--set", "image.repository="], "repository"),
        (["--set", "monitoring.podMonitor.shopNamespaces[0]=Bad_Name"], "shopNamespaces"),
        (["--set", "monitoring.podMonitor.shopNamespaces[0]=shops-*"], "shopNamespaces"),
        (["--set", "redis.service.port=0"], "port"),
        (["--set", "redis.auth.existingSecret=../other/x"], "existingSecret"),
        (["--set", "redis.image.tag="], "tag"),
        (["--set", "redis.maxmemory=lots"], "maxmemory"),
        (["--set", "redis.persistence.size=big"], "size"),
        (["--set-string", "redis.enabled=yes"], "enabled"),
        (["--set", "redis.colour=red"], "colour"),
        (["--set", "networkPolicy.apiServerPorts[0]=0"], "apiServerPorts"),
        (["--set", "networkPolicy.egres=x"], "egres"),
    ],
)
def test_values_schema_refuses_wrong_values(helm: Path, values: list[str], message: str) -> None:
    result = run_helm(helm, "template", "fishshop", str(CHART), *values, check=False)
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
    assert container["image"] == "ghcr.io/fishshop/fishshop:0.1.0"  # what the release publishes
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["FISHSHOP_WORKER_IMAGE"] == "ghcr.io/fishshop/fishshop:0.1.0"
    assert env["FISHSHOP_OPERATOR_CONCURRENCY"] == "16"  # the operator's own default
    assert env["FISHSHOP_TOPIC_PREFIXES"] == "namespace"  # tenants keep to their own
    watched = render(helm, "fishshop-system", "--set", "operator.watchNamespaces={shops-a,shops-b}")
    (deployment,) = [d for d in watched if d["kind"] == "Deployment"]
    env = {
        e["name"]: e["value"]
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["FISHSHOP_WATCH_NAMESPACE"] == "shops-a,shops-b"


def _pod_monitors(helm: Path, namespace: str, *args: str) -> dict[str, dict[str, Any]]:
    docs = render(helm, namespace, "--set", "monitoring.podMonitor.enabled=true", *args)
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "PodMonitor"}


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels, matchExpressions) picks ``labels``."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
    return True


def test_shop_pods_speak_only_for_their_own_namespace_and_shop(helm: Path) -> None:
    """The shops' PodMonitor takes `shop` and `namespace` from the pod, not from what
    the pod exports: no pod can write another shop's or another namespace's series."""
    from fishshop_operator.shop.resource import read_resource
    from fishshop_operator.shop.workloads import labels

    monitors = _pod_monitors(helm, "fishshop-system")
    assert set(monitors) == {"fishshop-shops", "fishshop-operator"}
    shops = monitors["fishshop-shops"]["spec"]
    assert shops["namespaceSelector"] == {"any": True}
    (endpoint,) = shops["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    assert endpoint["honorLabels"] is False
    relabel = {r["targetLabel"]: r for r in endpoint["relabelings"]}
    assert relabel["shop"]["sourceLabels"] == ["__meta_kubernetes_pod_label_fishshop_dev_shop"]
    assert relabel["namespace"]["sourceLabels"] == ["__meta_kubernetes_namespace"]
    for rule in relabel.values():
        assert rule["action"] == "replace"
        assert "replacement" not in rule and "regex" not in rule  # the whole value, as is
    # It picks every pod the operator creates and no other, the operator's included.
    shop = read_resource(
        {
            "apiVersion": "fishshop.dev/v1alpha1",
            "kind": "FishShop",
            "metadata": {"name": "harbour", "namespace": "fs-a", "uid": "u", "generation": 1},
            "spec": {"kafka": {"bootstrapServers": "kafka:9092"}},
        }
    )
    for role in ("till", "preparer", "cook"):
        pod_labels = labels(shop, role)
        assert pod_labels["fishshop.dev/shop"] == "harbour"
        assert _selects(shops["selector"], pod_labels), role
        assert not _selects(monitors["fishshop-operator"]["spec"]["selector"], pod_labels), role
    assert not _selects(shops["selector"], {"app.kubernetes.io/name": "fishshop"})
    assert not _selects(
        shops["selector"], {"app.kubernetes.io/managed-by": "fishshop-operator"}
    )  # without the shop label there would be no `shop` to give its series
    (deployment,) = [d for d in render(helm, "fishshop-system") if d["kind"] == "Deployment"]
    operator_pod = deployment["spec"]["template"]["metadata"]["labels"]
    assert not _selects(shops["selector"], operator_pod)

    only = _pod_monitors(
        helm, "fishshop-system", "--set", "monitoring.podMonitor.shopNamespaces={fs-a,fs-b}"
    )
    assert only["fishshop-shops"]["spec"]["namespaceSelector"] == {"matchNames": ["fs-a", "fs-b"]}


def test_the_operator_is_scraped_with_its_labels_in_the_release_namespace_only(
    helm: Path,
) -> None:
    """The operator's gauges carry each shop's namespace, so its labels are honoured,
    which is safe only because no pod but the operator's own is scraped this way."""
    for namespace in ("fishshop-system", "platform-tools"):
        monitors = _pod_monitors(
            helm, namespace, "--set", "monitoring.podMonitor.shopNamespaces={fs-a}"
        )
        operator = monitors["fishshop-operator"]
        assert operator["metadata"]["namespace"] == namespace
        spec = operator["spec"]
        assert spec["namespaceSelector"] == {"matchNames": [namespace]}
        (endpoint,) = spec["podMetricsEndpoints"]
        assert endpoint["honorLabels"] is True
        assert endpoint["port"] == "metrics"
        (deployment,) = [d for d in render(helm, namespace) if d["kind"] == "Deployment"]
        assert _selects(spec["selector"], deployment["spec"]["template"]["metadata"]["labels"])
        assert spec["selector"]["matchLabels"]["app.kubernetes.io/component"] == "operator"
        assert spec["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "fishshop"


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
    out = run_helm(helm, "template", "fishshop", str(CHART), "-n", namespace, *args).stdout
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


def test_the_operators_network_policy_keeps_it_off_metadata_addresses(
    helm: Path, monitoring_api: Cluster, namespace: str
) -> None:
    """Off by default; on, the operator's pod reaches DNS, the API server and the
    shops' servers but not link-local or metadata addresses, and the API server
    takes the policy as rendered."""
    kinds = [doc["kind"] for doc in render(helm, namespace)]
    assert "NetworkPolicy" not in kinds
    args = ["--set", "networkPolicy.enabled=true", "--set", "service.metricsPort=9000"]
    [policy] = [d for d in render(helm, namespace, *args) if d["kind"] == "NetworkPolicy"]
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "operator"
    assert {p["port"] for p in spec["ingress"][0]["ports"]} == {9000, 8080}
    dns, api, shops = spec["egress"]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert {p["port"] for p in api["ports"]} == {443, 6443}
    v4 = shops["to"][0]["ipBlock"]
    assert v4["cidr"] == "0.0.0.0/0" and "169.254.0.0/16" in v4["except"]
    chosen = render(helm, namespace, *args, "--set", "networkPolicy.egress[0].ports[0].port=9092")
    [policy] = [d for d in chosen if d["kind"] == "NetworkPolicy"]
    assert policy["spec"]["egress"][2] == {"ports": [{"port": 9092}]}
    out = run_helm(helm, "template", "fishshop", str(CHART), "-n", namespace, *args).stdout
    result = monitoring_api.kubectl(
        "--warnings-as-errors", "apply", "--dry-run=server", "-n", namespace, "-f", "-",
        input=out,
    )  # fmt: skip
    assert "networkpolicy.networking.k8s.io/fishshop created (server dry run)" in result


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


# -- the hot cabinet's optional Redis ---------------------------------------------------


def _redis(helm: Path, *args: str) -> dict[str, dict[str, Any]]:
    """The Redis objects by kind (the helm test pod apart)."""
    docs = render(helm, "fishshop-system", "--set", "redis.enabled=true", *args)
    return {
        d["kind"]: d
        for d in docs
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "redis"
    }


def test_redis_is_off_by_default_and_one_value_turns_it_on(helm: Path) -> None:
    assert not [d for d in render(helm, "fishshop-system") if "redis" in d["metadata"]["name"]]
    objects = _redis(helm)
    assert set(objects) == {"ConfigMap", "Service", "Deployment"}
    assert {o["metadata"]["name"] for o in objects.values()} == {"fishshop-redis"}
    assert "PersistentVolumeClaim" in _redis(helm, "--set", "redis.persistence.enabled=true")


def test_redis_keeps_what_it_acknowledged(helm: Path) -> None:
    """The cabinet's exactly-once rests on Redis's append-only file, synced at every
    write, and on Redis never evicting a remembered decision."""
    conf = _redis(helm)["ConfigMap"]["data"]["redis.conf"]
    settings = dict(
        line.split(" ", 1) for line in conf.splitlines() if line and not line.startswith("#")
    )
    assert settings["appendonly"] == "yes"
    assert settings["appendfsync"] == "always"
    assert settings["maxmemory-policy"] == "noeviction"
    assert settings["dir"] == "/data"
    spec = _redis(helm)["Deployment"]["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    (data,) = [v for v in pod["volumes"] if v["name"] == "data"]
    assert "emptyDir" in data
    persistent = _redis(helm, "--set", "redis.persistence.enabled=true")
    pod = persistent["Deployment"]["spec"]["template"]["spec"]
    (data,) = [v for v in pod["volumes"] if v["name"] == "data"]
    assert data["persistentVolumeClaim"]["claimName"] == "fishshop-redis"
    claim = persistent["PersistentVolumeClaim"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_redis_runs_a_pinned_image_locked_down(helm: Path) -> None:
    pod = _redis(helm)["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    repository, tag = container["image"].rsplit(":", 1)
    assert repository == "redis"
    assert tag[0].isdigit() and tag.count(".") == 2, tag  # an exact release, never latest
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert "resources" not in container  # no limits forced on anyone
    assert container["readinessProbe"] and container["livenessProbe"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/etc/redis"]["readOnly"] is True
    assert set(mounts) == {"/etc/redis", "/data"}  # it writes to /data only
    objects = _redis(helm)
    selected = objects["Deployment"]["spec"]["selector"]["matchLabels"]
    assert objects["Service"]["spec"]["selector"] == selected


def test_the_redis_password_comes_from_a_secret_never_the_pod_spec(helm: Path) -> None:
    container = _redis(helm)["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["/etc/redis/redis.conf"]
    assert "env" not in container
    locked = _redis(helm, "--set", "redis.auth.existingSecret=redis-auth")
    container = locked["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["/etc/redis/redis.conf", "--requirepass", "$(REDIS_PASSWORD)"]
    assert container["env"] == [
        {
            "name": "REDIS_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}},
        }
    ]


def test_redis_is_not_picked_by_the_operators_selectors(helm: Path) -> None:
    docs = render(helm, "fishshop-system", *REDIS_ON, *MONITORING_ON)
    operator = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "fishshop"
    )
    redis = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "fishshop-redis"
    )
    redis_pod = redis["spec"]["template"]["metadata"]["labels"]
    assert not _selects(operator["spec"]["selector"], redis_pod)
    for monitor in (d for d in docs if d["kind"] == "PodMonitor"):
        assert not _selects(monitor["spec"]["selector"], redis_pod), monitor["metadata"]["name"]


def test_the_hot_cabinet_sample_points_at_the_charts_redis_as_kind_up_installs_it(
    helm: Path,
) -> None:
    sample = yaml.safe_load(
        (ROOT / "manifests" / "samples" / "harbour-hot-cabinet.yaml").read_text()
    )
    service = _redis(helm)["Service"]
    url = (
        f"redis://{service['metadata']['name']}.{service['metadata']['namespace']}.svc:"
        f"{service['spec']['ports'][0]['port']}/0"
    )
    assert sample["spec"]["hotCabinet"]["redisUrl"] == url


def test_rendered_redis_passes_a_server_side_dry_run(
    helm: Path, cluster: Cluster, namespace: str
) -> None:
    out = run_helm(helm, "template", "fishshop", str(CHART), "-n", namespace, *REDIS_ON).stdout
    result = cluster.kubectl(
        "--warnings-as-errors", "apply", "--dry-run=server", "-n", namespace, "-f", "-",
        input=out,
    )  # fmt: skip
    lines = [line for line in result.splitlines() if line]
    assert all(line.endswith("(server dry run)") for line in lines), result
    for kind in ("configmap", "service", "deployment.apps", "persistentvolumeclaim"):
        assert f"{kind}/fishshop-redis created (server dry run)" in lines, result


def test_install_notes_give_the_redis_url(helm: Path, cluster: Cluster) -> None:
    def notes(*args: str) -> str:
        result = subprocess.run(
            [str(helm), "install", "fishshop", str(CHART), "--dry-run=client",
             "-n", "fishshop-system", *args],
            capture_output=True, text=True, check=False, env=cluster.env(),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.split("NOTES:", 1)[1]

    assert "The hot cabinet's Redis is off: set redis.enabled" in notes()
    on = notes("--set", "redis.enabled=true")
    assert "redisUrl: redis://fishshop-redis.fishshop-system.svc:6379/0" in on
    assert "set redis.persistence.enabled to keep it" in on
    locked = notes(*REDIS_ON)
    assert "credentialsSecret:" in locked
    assert "redis.persistence.enabled" not in locked


def test_a_release_per_trust_domain_can_be_only_its_redis(helm: Path, cluster: Cluster) -> None:
    """One Redis per trust domain, the easy way (docs/kubernetes.md): a release with
    operator.enabled=false has the Redis and nothing of the operator, whatever else is
    on, and its notes say where the domain's shops find it."""
    everything = [
        "--set", "redis.enabled=true", "--set", "networkPolicy.enabled=true",
        "--set", "monitoring.podMonitor.enabled=true",
        "--set", "monitoring.prometheusRule.enabled=true",
        "--set", "monitoring.dashboards.enabled=true",
    ]  # fmt: skip
    docs = render(helm, "team-a", "--set", "operator.enabled=false", *everything)
    assert sorted(d["kind"] for d in docs) == ["ConfigMap", "Deployment", "Pod", "Service"]
    assert {d["metadata"]["name"] for d in docs} == {"fishshop-redis", "fishshop-redis-test"}
    assert "ServiceAccount" in {d["kind"] for d in render(helm, "team-a", *everything)}
    result = subprocess.run(
        [str(helm), "install", "fishshop", str(CHART), "--dry-run=client", "-n", "team-a",
         "--set", "operator.enabled=false", "--set", "redis.enabled=true"],
        capture_output=True, text=True, check=False, env=cluster.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "no operator (operator.enabled=false)" in notes
    assert "redisUrl: redis://fishshop-redis.team-a.svc:6379/0" in notes
    assert "helm test" not in notes and "rollout status" not in notes
    nothing = subprocess.run(
        [str(helm), "install", "fishshop", str(CHART), "--dry-run=client", "-n", "team-a",
         "--set", "operator.enabled=false"],
        capture_output=True, text=True, check=False, env=cluster.env(),
    )  # fmt: skip
    assert nothing.returncode == 0, nothing.stderr
    said = nothing.stdout.split("NOTES:", 1)[1]
    assert "Nothing is installed" in said and "redisUrl" not in said


# -- the oldest Kubernetes, checked against a cluster only ------------------------------

CLUSTER_CAPABILITIES = ["--api-versions", "v1/Namespace"]
"""What a cluster's API versions look like to Helm (kinds named), unlike Helm's offline
default (group versions only); Argo CD passes these with the cluster's --kube-version."""


def test_helm_template_renders_with_no_flags_as_users_and_gitops_tools_run_it(
    helm: Path,
) -> None:
    """Plain `helm template`: Helm makes up a Kubernetes version here (v1.20.0 for this
    helm, built with `go install`), which Chart.yaml's kubeVersion used to refuse."""
    result = run_helm(helm, "template", str(CHART))
    kinds = {doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc}
    assert {"Deployment", "ClusterRole", "ServiceAccount"} <= kinds
    assert "kubeVersion" not in yaml.safe_load((CHART / "Chart.yaml").read_text())


def test_a_cluster_older_than_the_minimum_is_refused_with_its_version(helm: Path) -> None:
    old = run_helm(
        helm, "template", str(CHART), "--kube-version", "v1.29.9", *CLUSTER_CAPABILITIES,
        check=False,
    )  # fmt: skip
    assert old.returncode != 0
    assert "fishshop needs Kubernetes 1.30 or newer; this cluster runs v1.29.9" in old.stderr
    for version in ("v1.30.0", "v1.30.2-eks-1234", "v1.34.4"):
        run_helm(helm, "template", str(CHART), "--kube-version", version, *CLUSTER_CAPABILITIES)
    # A version given without a cluster's API versions is no cluster's: not checked.
    run_helm(helm, "template", str(CHART), "--kube-version", "v1.29.9")


def test_helm_checks_the_real_api_servers_version(helm: Path, cluster: Cluster) -> None:
    """--validate reads the version and API versions from the test API server."""
    result = subprocess.run(
        [str(helm), "template", "fishshop", str(CHART), "--validate"],
        capture_output=True, text=True, check=False, env=cluster.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "kind: Deployment" in result.stdout


# -- a namespaced install: Roles in the watched namespaces, nothing cluster-wide --------

WATCHED = ["--set", "operator.watchNamespaces={shops-a,shops-b}"]
CLUSTER_SCOPED = ({"namespaces"}, {"customresourcedefinitions"})


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], []).append(doc)
    return kinds


def test_watched_namespaces_get_a_role_each_and_nothing_cluster_wide(helm: Path) -> None:
    kinds = _by_kind(render(helm, "fishshop-system", *WATCHED))
    assert "ClusterRole" not in kinds
    assert "ClusterRoleBinding" not in kinds
    assert sorted(r["metadata"]["namespace"] for r in kinds["Role"]) == ["shops-a", "shops-b"]
    assert sorted(b["metadata"]["namespace"] for b in kinds["RoleBinding"]) == [
        "shops-a",
        "shops-b",
    ]
    for binding in kinds["RoleBinding"]:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "fishshop",
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "fishshop", "namespace": "fishshop-system"}
        ]
    # The same rules as the cluster-wide install, less the cluster-scoped ones.
    (cluster_role,) = _by_kind(render(helm, "fishshop-system"))["ClusterRole"]
    namespaced = [r for r in cluster_role["rules"] if set(r["resources"]) not in CLUSTER_SCOPED]
    assert len(namespaced) == len(cluster_role["rules"]) - 2
    for role in kinds["Role"]:
        assert role["rules"] == namespaced


def test_a_namespace_pattern_keeps_the_cluster_role(helm: Path) -> None:
    """A pattern matches namespaces made later, which no Role can name in advance, and
    kopf lists namespaces to find them."""
    kinds = _by_kind(
        render(helm, "fishshop-system", "--set", "operator.watchNamespaces={shops-a,team-*}")
    )
    assert "Role" not in kinds
    (role,) = kinds["ClusterRole"]
    assert {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]} in role[
        "rules"
    ]
    assert len(kinds["ClusterRoleBinding"]) == 1
    off = _by_kind(render(helm, "fishshop-system", *WATCHED, "--set", "rbac.create=false"))
    assert not {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} & set(off)


def test_install_notes_say_where_the_operators_rights_reach(helm: Path, cluster: Cluster) -> None:
    def notes(*args: str) -> str:
        result = subprocess.run(
            [str(helm), "install", "fishshop", str(CHART), "--dry-run=client",
             "-n", "fishshop-system", *args],
            capture_output=True, text=True, check=False, env=cluster.env(),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.split("NOTES:", 1)[1]

    assert "It needs Kubernetes 1.30 or newer." in notes()
    named = notes(*WATCHED)
    assert "The operator only watches: shops-a, shops-b." in named
    assert "a Role in each of these namespaces, nothing cluster-wide" in named
    pattern = notes("--set", "operator.watchNamespaces={team-*}")
    assert "rights stay cluster-wide (a ClusterRole)" in pattern


# What the operator does to a watched namespace (operator/fishshop_operator: kopf's
# watches and patches, server-side apply, Secrets it reads, Events it posts), and what
# it never needs there, asked of the real API server's RBAC authorizer.
OPERATOR_DOES = [
    *(["get", "fishshops.fishshop.dev"], ["list", "fishshops.fishshop.dev"]),
    *(["watch", "fishshops.fishshop.dev"], ["patch", "fishshops.fishshop.dev"]),
    ["patch", "fishshops.fishshop.dev", "--subresource=status"],
    ["update", "fishshops.fishshop.dev", "--subresource=finalizers"],
    *([verb, "deployments.apps"] for verb in ("get", "list", "watch", "create", "patch")),
    *([verb, "statefulsets.apps"] for verb in ("get", "list", "watch", "create", "patch")),
    *(["create", "services"], ["patch", "services"]),
    ["get", "secrets"],
    ["create", "events"],
]
OPERATOR_NEVER = [
    ["list", "secrets"],
    ["delete", "deployments.apps"],
    ["delete", "fishshops.fishshop.dev"],
    ["create", "pods"],
    ["update", "fishshops.fishshop.dev", "--subresource=status"],
]


def test_namespaced_rights_hold_on_the_real_api_server_in_watched_namespaces_only(
    helm: Path, cluster: Cluster
) -> None:
    """The rendered ServiceAccount, Roles and RoleBindings, applied for real: the
    operator may do its work in each watched namespace and nothing in any other, nor
    anything cluster-wide (the API server runs with --authorization-mode=Node,RBAC)."""
    tag = uuid.uuid4().hex[:8]
    home, watched, other = f"chart-op-{tag}", [f"chart-a-{tag}", f"chart-b-{tag}"], f"chart-x-{tag}"
    namespaces = [home, *watched, other]
    for name in namespaces:
        cluster.kubectl("create", "namespace", name)
    try:
        docs = render(helm, home, "--set", f"operator.watchNamespaces={{{','.join(watched)}}}")
        rights = [d for d in docs if d["kind"] in {"ServiceAccount", "Role", "RoleBinding"}]
        assert {d["kind"] for d in rights} == {"ServiceAccount", "Role", "RoleBinding"}
        operator = f"system:serviceaccount:{home}:fishshop"

        def can(namespace: str | None, *request: str) -> bool:
            where = ["-n", namespace] if namespace else []
            answer = cluster.kubectl(
                "auth", "can-i", *request, *where, f"--as={operator}", check=False
            )
            assert answer.splitlines()[0] in {"yes", "no"}, answer
            return answer.startswith("yes")

        assert not can(watched[0], "get", "secrets")  # nothing before the chart's rights
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rights))
        for request in OPERATOR_DOES:
            for namespace in watched:
                assert can(namespace, *request), (namespace, request)
            assert not can(other, *request), (other, request)
            assert not can(home, *request), (home, request)
        for request in OPERATOR_NEVER:
            assert not can(watched[0], *request), request
        # Cluster-wide: kopf falls back to the names as given and the CRD as first read.
        assert not can(None, "list", "namespaces")
        assert not can(None, "watch", "customresourcedefinitions.apiextensions.k8s.io")
        assert not can(None, "list", "fishshops.fishshop.dev", "--all-namespaces")
        # A real request as the operator, not only the authorizer's answer (kubectl
        # raises if it is refused).
        cluster.kubectl("get", "deployments", "-n", watched[1], f"--as={operator}")
        refused = cluster.kubectl(
            "get", "deployments", "-n", other, f"--as={operator}", check=False
        )
        assert "Forbidden" in refused, refused
    finally:
        for name in namespaces:
            cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
