"""The process kubelet the operator tests run pods with behaves as a kubelet does where
it matters to them: a pod it cannot start (its Secret is missing) waits, and every
other pod starts all the same, whatever order the API server lists them in."""

from __future__ import annotations

import json
import uuid

from tests.support.cluster import Cluster
from tests.support.kubelet import ProcessKubelet
from tests.support.shops import wait_for


def _pod(namespace: str, name: str, secret: str | None = None) -> str:
    spec: dict[str, object] = {
        "containers": [
            {
                "name": "main",
                "image": "fishshop:test",
                "command": ["python3", "-c", "import time; time.sleep(120)"],
                **({"volumeMounts": [{"name": "s", "mountPath": "/etc/s"}]} if secret else {}),
            }
        ]
    }
    if secret:
        spec["volumes"] = [{"name": "s", "secret": {"secretName": secret}}]
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    return json.dumps(body)


def test_a_pod_that_cannot_start_holds_up_no_other(
    cluster: Cluster, kubelet: ProcessKubelet
) -> None:
    tag = uuid.uuid4().hex[:6]
    first, last = f"fs-0000-{tag}", f"fs-zzzz-{tag}"  # listed first and last
    try:
        for namespace in (first, last):
            cluster.kubectl("create", "namespace", namespace)
        cluster.kubectl("apply", "-f", "-", input=_pod(first, "stuck", secret="missing"))
        cluster.kubectl("apply", "-f", "-", input=_pod(last, "runs"))
        wait_for("the pod after the stuck one runs", lambda: kubelet.running(last), timeout=60)
        assert kubelet.running(first) == []
        assert any(f"{first}/stuck" in error for error in kubelet.errors)
    finally:
        for namespace in (first, last):
            cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
