"""Unit tests for the REST paths fishshop_operator.kube.api builds: a name is one quoted
segment and never climbs out of the namespace it was given, as the client sends it."""

from __future__ import annotations

import kubernetes.client
import pytest
import urllib3

from fishshop_operator.kube.api import object_path


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        ("v1", "Secret", "/api/v1/namespaces/seaside/secrets/kafka-tls"),
        ("v1", "Service", "/api/v1/namespaces/seaside/services/kafka-tls"),
        ("apps/v1", "Deployment", "/apis/apps/v1/namespaces/seaside/deployments/kafka-tls"),
        (
            "fishshop.dev/v1alpha1",
            "FishShop",
            "/apis/fishshop.dev/v1alpha1/namespaces/seaside/fishshops/kafka-tls",
        ),
    ],
)
def test_paths_of_ordinary_names(api_version: str, kind: str, expected: str) -> None:
    assert object_path(api_version, kind, "seaside", "kafka-tls") == expected


def test_a_collection_path_has_no_name() -> None:
    assert object_path("v1", "Event", "seaside") == "/api/v1/namespaces/seaside/events"


@pytest.mark.parametrize(
    "name", ["../../other-ns/secrets/x", "a/b", "x?watch=true", "x#y", "%2e%2e", "a b"]
)
def test_a_name_stays_one_segment(name: str) -> None:
    path = object_path("v1", "Secret", "seaside", name)
    prefix = "/api/v1/namespaces/seaside/secrets/"
    assert path.startswith(prefix)
    assert "/" not in path[len(prefix) :]
    # What the kubernetes client sends, after the API server's address, stays in the
    # namespace: the client adds the path as given and urllib3 keeps it one segment.
    client = kubernetes.client.ApiClient(
        kubernetes.client.Configuration(host="https://api.example:6443")
    )
    _, url, _, _, _ = client.param_serialize("GET", path)
    sent = urllib3.util.parse_url(url)
    assert sent.path is not None
    assert sent.path.startswith(prefix)
    assert sent.path.count("/") == prefix.count("/")
    assert not sent.query and not sent.fragment


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cannot name an object"):
        object_path("v1", "Secret", "seaside", name)


@pytest.mark.parametrize("namespace", ["", ".", ".."])
def test_a_namespace_must_name_one(namespace: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        object_path("v1", "Secret", namespace, "kafka-tls")


def test_a_namespace_stays_one_segment() -> None:
    assert object_path("v1", "Secret", "a/../b", "x") == "/api/v1/namespaces/a%2F..%2Fb/secrets/x"
