"""The install manifests: the real API server accepts them in a server-side dry run,
and the operator's ClusterRole grants what the operator uses and nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cluster import Cluster

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
OPERATOR = MANIFESTS / "operator"
SAMPLE = MANIFESTS / "samples" / "harbour.yaml"

# (apiGroup, resource, verb) that `fishshop operator` needs, and why.
NEEDED = {
    # kopf: list and watch shops, merge/JSON-patch annotations and the finalizer.
    # The reconciler: get a shop by name, list all shops (topic prefix owners).
    ("fishshop.dev", "fishshops", "get"),
    ("fishshop.dev", "fishshops", "list"),
    ("fishshop.dev", "fishshops", "watch"),
    ("fishshop.dev", "fishshops", "patch"),
    # KubeApi.patch_status: a merge patch of the status subresource.
    ("fishshop.dev", "fishshops/status", "patch"),
    # blockOwnerDeletion on the workloads' ownerReference, where the
    # OwnerReferencesPermissionEnforcement admission plugin is on.
    ("fishshop.dev", "fishshops/finalizers", "update"),
    # KubeApi.apply (server-side apply: patch, and create when the object is new),
    # _read_workloads (get), kopf's on.event watches (list, watch).
    *(
        ("apps", resource, verb)
        for resource in ("deployments", "statefulsets")
        for verb in ("get", "list", "watch", "create", "patch")
    ),
    # The tills' headless Service, only ever server-side applied.
    ("", "services", "create"),
    ("", "services", "patch"),
    # spec.kafka.tlsSecret, read for the operator's Kafka client.
    ("", "secrets", "get"),
    # The record that a retained shop keeps its prefix (shop/kept.py): get, server-side
    # apply (patch, create), deleted with the topics.
    *(("", "configmaps", verb) for verb in ("get", "create", "patch", "delete")),
    # KubeApi.event: the operator POSTs core v1 Events.
    ("", "events", "create"),
    # kopf's namespace observer when FISHSHOP_WATCH_NAMESPACE is set.
    ("", "namespaces", "list"),
    ("", "namespaces", "watch"),
    # kopf's resource observer watches CRDs.
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _ref(obj: dict[str, Any]) -> str:
    """How kubectl names an object: ``deployment.apps/fishshop-operator``."""
    group = obj["apiVersion"].rpartition("/")[0]
    kind = obj["kind"].lower() + (f".{group}" if group else "")
    return f"{kind}/{obj['metadata']['name']}"


def _dry_run_refs(output: str) -> set[str]:
    refs = set()
    for line in output.splitlines():
        ref, _, outcome = line.partition(" ")
        assert outcome.endswith("(server dry run)"), line
        refs.add(ref)
    return refs


@pytest.fixture
def system_namespace(cluster: Cluster) -> Iterator[None]:
    """A dry run creates nothing, so the objects in fishshop-system need it to exist."""
    cluster.kubectl("apply", "-f", str(OPERATOR / "namespace.yaml"))
    yield
    cluster.kubectl("delete", "namespace", "fishshop-system", "--wait=false", check=False)


def test_kustomization_lists_the_crd_and_every_operator_file_but_no_sample() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    expected = {"crd/fishshops.fishshop.dev.yaml"} | {
        f"operator/{path.name}" for path in OPERATOR.glob("*.yaml")
    }
    assert sorted(kustomization["resources"]) == sorted(expected)


@pytest.mark.usefixtures("system_namespace")
def test_install_manifests_pass_a_server_side_dry_run(cluster: Cluster) -> None:
    # --warnings-as-errors: a Pod Security or deprecation warning fails the test too.
    output = cluster.kubectl(
        "--warnings-as-errors", "apply", "--dry-run=server", "-k", str(MANIFESTS)
    )
    files = [*MANIFESTS.glob("crd/*.yaml"), *OPERATOR.glob("*.yaml")]
    expected = {_ref(obj) for path in files for obj in _documents(path)}
    assert "deployment.apps/fishshop-operator" in expected
    assert _dry_run_refs(output) == expected
    assert not cluster.kubectl(
        "get", "deployment", "fishshop-operator", "-n", "fishshop-system", "--ignore-not-found"
    )


def test_sample_shop_passes_a_server_side_dry_run(cluster: Cluster, namespace: str) -> None:
    output = cluster.kubectl("apply", "--dry-run=server", "-f", str(SAMPLE), "-n", namespace)
    assert _dry_run_refs(output) == {"fishshop.fishshop.dev/harbour"}
    assert not cluster.kubectl("get", "fishshops", "-n", namespace, "--ignore-not-found")


def test_hot_cabinet_sample_passes_a_server_side_dry_run(cluster: Cluster, namespace: str) -> None:
    sample = MANIFESTS / "samples" / "harbour-hot-cabinet.yaml"
    output = cluster.kubectl(
        "--warnings-as-errors", "apply", "--dry-run=server", "-f", str(sample), "-n", namespace
    )
    assert _dry_run_refs(output) == {"fishshop.fishshop.dev/harbour-hot-cabinet"}


def test_cluster_role_grants_exactly_what_the_operator_uses() -> None:
    objects = {obj["kind"]: obj for obj in _documents(OPERATOR / "rbac.yaml")}
    assert set(objects) == {"ClusterRole", "ClusterRoleBinding"}
    role, binding = objects["ClusterRole"], objects["ClusterRoleBinding"]

    granted = set()
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule  # no names, no URLs
        for field in ("apiGroups", "resources", "verbs"):
            assert not any("*" in value for value in rule[field]), rule
        granted |= {
            (group, resource, verb)
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
        }
    assert not NEEDED - granted, f"missing: {sorted(NEEDED - granted)}"
    assert not granted - NEEDED, f"more than needed: {sorted(granted - NEEDED)}"

    # The binding gives that role to the service account the Deployment runs as.
    (deployment,) = _documents(OPERATOR / "deployment.yaml")
    (account,) = _documents(OPERATOR / "serviceaccount.yaml")
    meta = account["metadata"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": meta["name"], "namespace": meta["namespace"]}
    ]
    assert deployment["metadata"]["namespace"] == meta["namespace"]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == meta["name"]


def test_the_operator_works_with_only_its_cluster_role(
    cluster: Cluster, broker: Any, tmp_path: Path
) -> None:
    """``fishshop operator`` as the ServiceAccount of manifests/operator, with its
    token: a shop with a TLS Secret reference is reconciled and deleted, no 403."""
    import json
    import uuid

    from tests.conftest import operator_process
    from tests.support.shops import apply, condition, get, small_shop, wait_for

    # Another test may have just deleted fishshop-system; let that finish first.
    cluster.kubectl(
        "wait", "--for=delete", "namespace/fishshop-system", "--timeout=60s", check=False
    )
    for name in ("namespace.yaml", "serviceaccount.yaml", "rbac.yaml"):
        cluster.kubectl("apply", "-f", str(OPERATOR / name))
    token = cluster.kubectl(
        "create", "token", "fishshop-operator", "-n", "fishshop-system", "--duration=1h"
    ).strip()
    config = json.loads(cluster.kubeconfig.read_text())
    config["users"] = [{"name": "fishshop-operator", "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = "fishshop-operator"
    kubeconfig = tmp_path / "operator.kubeconfig"
    kubeconfig.write_text(json.dumps(config))

    namespace = f"rbac-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", namespace)
    operator = operator_process(cluster, tmp_path, "operator", namespace)
    operator.environment["KUBECONFIG"] = str(kubeconfig)
    operator.start()
    try:
        # Retained at first: the operator records that the shop keeps its topics.
        shop = small_shop(broker.bootstrap_servers, topicDeletionPolicy="Retain")
        apply(cluster, namespace, shop)
        # No kubelet here: once the controllers have acted on the workloads (at first
        # the status may say RolloutInProgress), the pods simply never get ready.
        reconciled = wait_for(
            "the shop's workloads and status",
            lambda: (
                (s := get(cluster, namespace, "fishshop", "harbour"))
                and condition(s, "TopicsReady").get("status") == "True"
                and condition(s, "WorkersAvailable").get("reason") == "PodsNotReady"
                and get(cluster, namespace, "deployment", "harbour-preparer")
                and s
            ),
            timeout=90,
        )
        assert condition(reconciled, "WorkersAvailable")["status"] == "False"
        kept = wait_for(
            "the record that the shop keeps its topics",
            lambda: cluster.kubectl(
                "get", "configmap", "-n", namespace, "-l", "fishshop.dev/kept-topics",
                "-o", "name", check=False,
            ).strip(),
        )  # fmt: skip
        assert kept.startswith("configmap/fishshop-kept-topics-")
        # A TLS Secret that is not usable: read (secrets get), reported, an event posted.
        cluster.kubectl(
            "create", "secret", "generic", "kafka-tls", "-n", namespace,
            "--from-literal=ca.pem=not a certificate",
        )  # fmt: skip
        shop["spec"]["kafka"]["tlsSecret"] = "kafka-tls"
        apply(cluster, namespace, shop)
        wait_for(
            "TLSSecretInvalid",
            lambda: (
                condition(get(cluster, namespace, "fishshop", "harbour"), "Ready").get("reason")
                == "TLSSecretInvalid"
            ),
            timeout=60,
        )
        events = cluster.kubectl("get", "events", "-n", namespace)
        assert "TLSSecretInvalid" in events
        shop["spec"]["kafka"]["tlsSecret"] = ""
        shop["spec"]["topicDeletionPolicy"] = "Delete"
        apply(cluster, namespace, shop)
        wait_for(
            "the finalizer that deletes the topics",
            lambda: (
                (get(cluster, namespace, "fishshop", "harbour") or {})
                .get("metadata", {})
                .get("finalizers")
            ),
        )
        cluster.kubectl("delete", "-n", namespace, "fishshop/harbour", "--timeout=60s")
        # The topics went, and with them the record.
        assert not cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name").count(
            "fishshop-kept-topics-"
        )
    finally:
        operator.terminate(30)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    log = operator.log()
    assert "action=created kind=StatefulSet" in log
    assert "action=delete-topics" in log
    # A 403 anywhere but in a timestamp's milliseconds (12:00:00,403).
    assert not re.search(r"(?<![,\d])403(?!\d)", log), log
    assert "Forbidden" not in log
    assert "forbidden" not in log


def test_the_kind_kafka_and_cluster_config_are_valid(cluster: Cluster) -> None:
    """What `make kind-up` applies, checked without Docker: the single-node Kafka
    passes a server-side dry run (Pod Security warnings are errors), and
    kind-config.yaml is a kind Cluster that publishes Grafana's NodePort."""
    kafka = MANIFESTS / "kafka" / "kafka.yaml"
    cluster.kubectl("create", "namespace", "kafka")
    try:
        output = cluster.kubectl(
            "--warnings-as-errors", "apply", "--dry-run=server", "-f", str(kafka)
        )
    finally:
        cluster.kubectl("delete", "namespace", "kafka", "--wait=false", check=False)
    assert _dry_run_refs(output) == {_ref(obj) for obj in _documents(kafka)}
    config = yaml.safe_load((MANIFESTS.parent / "kind-config.yaml").read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    (node,) = config["nodes"]
    assert node["image"].startswith("kindest/node:v1.34")
    mapping = node["extraPortMappings"][0]
    assert (mapping["containerPort"], mapping["hostPort"]) == (30300, 3000)
    script = (MANIFESTS.parent / "scripts" / "kind-up.sh").read_text()
    assert "grafana.service.nodePort=30300" in script
    assert "kubectl apply -f manifests/kafka/kafka.yaml" in script
