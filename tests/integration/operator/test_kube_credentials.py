"""KubeApi on the real API server with a kubeconfig whose user is an exec credential
plugin (as on EKS, GKE and AKS), and with a token that is revoked while requests are
in flight: every request succeeds and the plugin is asked again."""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fishshop_operator.kube.api import KubeApi, KubeApiError, load_configuration, object_path
from tests.support.cluster import Cluster
from tests.support.shops import small_shop

GROUP_PATH = "/apis/fishshop.dev/v1alpha1"

PLUGIN = textwrap.dedent(
    """\
    import json, os, sys
    here = os.path.dirname(os.path.abspath(__file__))
    token = open(os.path.join(here, "token")).read().strip()
    with open(os.path.join(here, "runs"), "a") as runs:
        runs.write(token[-12:] + "\\n")
    json.dump({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
               "status": {"token": token}}, sys.stdout)
    """
)


@dataclass
class Plugin:
    """An exec credential plugin that hands out whatever token it is given."""

    folder: Path
    kubeconfig: Path

    def serve(self, token: str) -> None:
        (self.folder / "token").write_text(token)

    def runs(self) -> list[str]:
        path = self.folder / "runs"
        return path.read_text().split() if path.exists() else []


def _role(namespace: str) -> dict[str, Any]:
    """What the door's calls below need, as the operator's ClusterRole grants them."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "door", "namespace": namespace},
        "rules": [
            {
                "apiGroups": ["fishshop.dev"],
                "resources": ["fishshops"],
                "verbs": ["get", "list", "create", "patch"],
            },
            {"apiGroups": ["fishshop.dev"], "resources": ["fishshops/status"], "verbs": ["patch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
        ],
    }


@pytest.fixture
def door_namespace(cluster: Cluster) -> Iterator[str]:
    """A namespace outside fs-*, so no session operator reconciles the shop made here,
    with a ServiceAccount ``door`` bound to a Role of just what the test calls."""
    name = f"door-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("create", "serviceaccount", "door", "-n", name)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_role(name)))
    cluster.kubectl(
        "create", "rolebinding", "door", "-n", name, "--role=door", f"--serviceaccount={name}:door"
    )
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def plugin(cluster: Cluster, tmp_path: Path) -> Plugin:
    """A kubeconfig for the test's cluster (its CA, its server) whose user is the plugin."""
    script = tmp_path / "plugin.py"
    script.write_text(PLUGIN)
    admin = json.loads(cluster.kubeconfig.read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": admin["clusters"],
        "users": [
            {
                "name": "door",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": sys.executable,
                        "args": [str(script)],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
        "contexts": [{"name": "door", "context": {"cluster": "fishshop", "user": "door"}}],
        "current-context": "door",
    }
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(config))
    return Plugin(tmp_path, kubeconfig)


def _bound_token(cluster: Cluster, namespace: str, secret: str) -> str:
    """A service-account token that dies with the Secret ``secret``."""
    cluster.kubectl("create", "secret", "generic", secret, "-n", namespace)
    return cluster.kubectl(
        "create",
        "token",
        "door",
        "-n",
        namespace,
        "--bound-object-kind=Secret",
        f"--bound-object-name={secret}",
        "--duration=10m",
    ).strip()


def _answers_with(cluster: Cluster, token: str, path: str) -> int:
    """The status the API server gives ``token`` for GET ``path``."""
    context = ssl.create_default_context(cafile=str(cluster.folder / "pki" / "ca.pem"))
    request = urllib.request.Request(cluster.server + path)
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _shop(namespace: str, name: str) -> dict[str, Any]:
    shop = small_shop("kafka.invalid:9092", name)
    shop["metadata"]["namespace"] = namespace
    return shop


async def test_an_exec_plugin_drives_get_apply_patch_status_and_list(
    cluster: Cluster, door_namespace: str, plugin: Plugin
) -> None:
    plugin.serve(_bound_token(cluster, door_namespace, "door-token"))
    load = functools.partial(load_configuration, str(plugin.kubeconfig))
    async with KubeApi(load) as api:
        applied = await api.apply(_shop(door_namespace, "harbour"))
        assert applied["metadata"]["name"] == "harbour"
        managers = {field["manager"] for field in applied["metadata"]["managedFields"]}
        assert managers == {"fishshop-operator"}

        await api.patch_status(door_namespace, "harbour", {"observedGeneration": 1})
        path = object_path("fishshop.dev/v1alpha1", "FishShop", door_namespace, "harbour")
        found = await api.get(path)
        assert found is not None
        assert found["status"]["observedGeneration"] == 1
        assert await api.get(path[: -len("harbour")] + "nowhere") is None

        items = await api.list_items(f"{GROUP_PATH}/namespaces/{door_namespace}/fishshops")
        assert [item["metadata"]["name"] for item in items] == ["harbour"]
        await api.event(found, "Normal", "DoorTested", "through an exec plugin")

        # The plugin's token is who asked: the service account, not the admin certificate.
        with pytest.raises(KubeApiError) as refused:
            await api.get(object_path("v1", "Secret", door_namespace, "door-token"))
    assert refused.value.status == 403
    assert f"system:serviceaccount:{door_namespace}:door" in str(refused.value)
    assert len(plugin.runs()) == 1
    events = json.loads(cluster.kubectl("get", "events", "-n", door_namespace, "-o", "json"))
    assert "DoorTested" in {event["reason"] for event in events["items"]}


async def test_a_token_revoked_while_requests_are_in_flight(
    cluster: Cluster, door_namespace: str, plugin: Plugin
) -> None:
    token_a = _bound_token(cluster, door_namespace, "token-a")
    token_b = _bound_token(cluster, door_namespace, "token-b")
    plugin.serve(token_a)
    collection = f"{GROUP_PATH}/namespaces/{door_namespace}/fishshops"
    load = functools.partial(load_configuration, str(plugin.kubeconfig))

    def rotate() -> None:
        plugin.serve(token_b)
        cluster.kubectl("delete", "secret", "token-a", "-n", door_namespace)
        deadline = time.monotonic() + 30
        while _answers_with(cluster, token_a, collection) != 401:
            assert time.monotonic() < deadline, "token A still accepted 30 s after revocation"
            time.sleep(0.2)

    async def burst(wave: int) -> list[Any]:
        calls: list[Any] = []
        for i in range(30):
            name = f"shop-{wave}-{i}"
            if i % 3 == 0:
                calls.append(api.apply(_shop(door_namespace, name)))
            elif i % 3 == 1:
                calls.append(api.list_items(collection))
            else:
                calls.append(api.get(f"{collection}/harbour"))
        return list(await asyncio.gather(*calls))

    async with KubeApi(load) as api:
        await api.apply(_shop(door_namespace, "harbour"))  # logged in with token A
        assert plugin.runs() == [token_a[-12:]]

        # Token A is revoked and the plugin hands out B while 30 requests are on
        # their way, then 30 more start with A still in the door's hands.
        first = asyncio.create_task(burst(1))
        await asyncio.to_thread(rotate)
        answers = [*await first, *await burst(2)]

        assert len(answers) == 60
        assert all(answer is not None for answer in answers)
        applied = {a["metadata"]["name"] for a in answers if isinstance(a, dict) and "kind" in a}
        assert {f"shop-2-{i}" for i in range(0, 30, 3)} <= applied
        # One fresh login served every request that met the revoked token.
        assert plugin.runs() == [token_a[-12:], token_b[-12:]]
        assert api.logins == 2
    names = {
        item["metadata"]["name"]
        for item in json.loads(
            cluster.kubectl("get", "fishshops", "-n", door_namespace, "-o", "json")
        )["items"]
    }
    assert {f"shop-{wave}-{i}" for wave in (1, 2) for i in range(0, 30, 3)} <= names
