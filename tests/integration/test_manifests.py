"""The install manifests: the real API server accepts them in a server-side dry run,
and the operator's ClusterRole grants what the operator uses and nothing else."""

from __future__ import annotations

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
    # kopf.event: kopf POSTs core v1 Events.
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
