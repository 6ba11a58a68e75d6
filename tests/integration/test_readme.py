"""The README's recipes, run as written: the workers by hand against the embedded
broker, the shop on Kubernetes with kubectl, and the laptop set-up in a virtualenv.

Each command comes from ``readme_command``, so a recipe that the README changes is
run as it now reads; ``tests/unit/test_readme.py`` names where every other command
of the README runs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka.errors import KafkaError

from fishshop_workers.embedded.kafka import EmbeddedBroker
from fishshop_workers.shop.topics import default_prefix, preparers_group
from tests.support.cluster import Cluster
from tests.support.processes import Foreground, without_fishshop_variables
from tests.support.readme import fishshop_words, readme_command
from tests.support.shops import SAMPLE, get, group_members, topic_partitions, wait_for
from tests.support.tools import build_helm

REPO = Path(__file__).resolve().parents[2]
SHOP = default_prefix("harbour")
"""The topic prefix of FISHSHOP_SHOP=harbour."""


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.broker
@pytest.mark.slow
def test_the_workers_by_hand_serve_every_order_once(tmp_path: Path) -> None:
    """The README's "Run the workers against any Kafka": a broker, the variables, two tills, two
    preparers and a cook, each a process of its own as in a terminal of its own;
    closed, the audit finds every order served once."""
    if _port_taken(9092):
        pytest.skip("port 9092 is taken on this machine: the README's broker cannot start")
    env = without_fishshop_variables()
    exported = shlex.split(
        readme_command(
            "export FISHSHOP_BOOTSTRAP_SERVERS=localhost:9092 FISHSHOP_SHOP=harbour "
            "FISHSHOP_METRICS_PORT=0"
        )
    )[1:]
    env.update(dict(pair.split("=", 1) for pair in exported))
    broker_env = without_fishshop_variables()  # the broker comes before the export
    broker = Foreground(
        tmp_path / "broker.log", *fishshop_words("fishshop broker --port 9092"), env=broker_env
    )
    running: list[Foreground] = []
    try:
        broker.wait_for("on 127.0.0.1:9092", 180)
        first = Foreground(
            tmp_path / "till-1.log",
            *fishshop_words("fishshop till --till 1 --create-topics"),
            env=env,
        )
        running.append(first)
        wait_for(  # the next terminal, once till 1 made the topics
            "till 1 to make the shop's topics",
            lambda: topic_partitions("localhost:9092", [f"{SHOP}.orders"]),
            timeout=120,
        )
        tills = [first]
        others = [
            ("till-2", fishshop_words("fishshop till --till 2")),
            ("preparer-1", fishshop_words("fishshop preparer")),
            ("preparer-2", fishshop_words("fishshop preparer")),
            ("cook", fishshop_words("fishshop cook")),
        ]
        for log, words in others:
            worker = Foreground(tmp_path / f"{log}.log", *words, env=env)
            running.append(worker)
            if log.startswith("till"):
                tills.append(worker)
        wait_for(
            "both preparers in the consumer group",
            lambda: _members("localhost:9092", preparers_group(SHOP)) == 2,
            timeout=120,
        )
        time.sleep(5)  # orders taken while the whole shop is open
        for till in tills:
            assert till.terminate(60) == 0, till.log()
        audit = subprocess.run(
            [sys.executable, "-m", "fishshop", *fishshop_words("fishshop audit --wait 60")],
            env={**env, "FISHSHOP_JSON": "1"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert audit.returncode == 0, audit.stdout + audit.stderr
        summary = json.loads(audit.stdout)
        assert summary["orders_created"] > 0
        assert summary["orders_served"] == summary["orders_created"]
        assert summary["unserved"] == 0 and summary["duplicates"] == 0
        for worker in running[2:]:
            assert worker.terminate(60) == 0, worker.log()
    finally:
        for worker in running:
            worker.terminate(30)
        stopped = broker.terminate(90)
    assert stopped == 0, broker.log()  # after the test's own failure, if any, is said


def _members(bootstrap: str, group: str) -> int:
    """The group's members; none while its coordinator is still being chosen."""
    try:
        return group_members(bootstrap, group)
    except KafkaError:
        return 0


@pytest.mark.broker
@pytest.mark.slow
def test_the_kubernetes_recipe_opens_scales_closes_and_deletes_the_sample_shop(
    cluster: Cluster,
    broker: EmbeddedBroker,
    fishshop_operator: Any,
    namespace: str,
    tmp_path: Path,
) -> None:
    """The README's "Use it": the sample shop with its bootstrapServers edited, as the README asks,
    applied, waited for, listed, scaled, closed and deleted with kubectl as written,
    in the namespace of the user's context."""
    sample = yaml.safe_load(SAMPLE.read_text())
    sample["spec"]["kafka"]["bootstrapServers"] = broker.bootstrap_servers
    edited = tmp_path / "manifests" / "samples" / "harbour.yaml"
    edited.parent.mkdir(parents=True)
    edited.write_text(yaml.safe_dump(sample))
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(cluster.kubeconfig, kubeconfig)
    env = {**cluster.env(), "KUBECONFIG": str(kubeconfig)}
    cluster_kubectl = str(cluster.kubectl_path)
    subprocess.run(
        [cluster_kubectl, "config", "set-context", "--current", f"--namespace={namespace}"],
        env=env,
        check=True,
        capture_output=True,
    )

    def kubectl(command: str) -> str:
        return _run(command, env, tmp_path, timeout=180)

    made = kubectl(readme_command("kubectl apply -f manifests/samples/harbour.yaml"))
    assert "created" in made
    kubectl(readme_command("kubectl wait --for=condition=Ready fishshop/harbour --timeout=2m"))
    listed = kubectl(readme_command("kubectl get shop -o wide")).splitlines()
    readme = (REPO / "README.md").read_text()
    header = next(line for line in readme.splitlines() if line.startswith("NAME      READY"))
    assert listed[0].split() == header.split(), listed
    assert listed[1].split()[:7] == ["harbour", "True", "true", "3", "3", "2", "1"]

    kubectl(readme_command("kubectl scale fishshop/harbour --replicas=4"))
    wait_for(
        "four preparers", lambda: _replicas(cluster, namespace, "deployment/harbour-preparer") == 4
    )
    kubectl(
        readme_command(
            """kubectl patch fishshop/harbour --type=merge -p '{"spec":{"open":false}}'"""
        )
    )
    wait_for(
        "the tills to close", lambda: _replicas(cluster, namespace, "statefulset/harbour-till") == 0
    )
    kubectl(readme_command("kubectl delete fishshop/harbour"))
    assert get(cluster, namespace, "fishshop", "harbour") is None


def _replicas(cluster: Cluster, namespace: str, workload: str) -> int | None:
    """``workload`` is kind/name: deployment/harbour-preparer, statefulset/harbour-till."""
    kind, name = workload.split("/")
    found = get(cluster, namespace, kind, name) or {}
    replicas = (found.get("spec") or {}).get("replicas")
    return int(replicas) if replicas is not None else None


def _run(command: str, env: dict[str, str], cwd: Path = REPO, timeout: float = 300) -> str:
    """A README command (from ``readme_command``) by the shell; its output, or a
    failure that shows it."""
    result = subprocess.run(
        ["bash", "-c", command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout + result.stderr


def _without_the_operator(cluster: Cluster) -> None:
    """Remove what either install made (not the CRD, which the session's shops need)."""
    cluster.kubectl("delete", "namespace", "fishshop-system", "--ignore-not-found", "--wait=false")
    for kind in ("clusterrolebinding", "clusterrole"):
        for name in ("fishshop-operator", "fishshop"):
            cluster.kubectl("delete", kind, name, "--ignore-not-found")
    cluster.kubectl(
        "wait", "--for=delete", "namespace/fishshop-system", "--timeout=120s", check=False
    )


def _uninstall(env: dict[str, str]) -> None:
    subprocess.run(
        [str(build_helm()), "uninstall", "fishshop", "-n", "fishshop-system", "--wait"],
        env=env, capture_output=True, check=True, timeout=120,
    )  # fmt: skip


WHAT_IT_MADE = ("deployment,serviceaccount", "-n", "fishshop-system", "-o", "name")


@pytest.mark.slow
def test_both_installs_make_the_operator_on_the_api_server(cluster: Cluster) -> None:
    """The README's "Install with Helm or plain manifests", each as written against a real API
    server: the operator's Deployment, ServiceAccount and rights are made. (`helm test`
    runs a pod, which kind-up does on a real node: scripts/kind-up.sh.)"""
    env = {**cluster.env(), "PATH": f"{build_helm().parent}{os.pathsep}{cluster.env()['PATH']}"}
    _without_the_operator(cluster)  # an earlier test's namespace may still be going
    try:
        _run(readme_command("kubectl apply -k manifests/"), env)
        made = cluster.kubectl("get", *WHAT_IT_MADE)
        assert "deployment.apps/fishshop-operator" in made.split()
        assert cluster.kubectl("get", "clusterrole", "fishshop-operator", "-o", "name").strip()
        _without_the_operator(cluster)

        said = _run(
            readme_command(
                "helm install fishshop charts/fishshop -n fishshop-system --create-namespace"
            ),
            env,
        )
        assert "STATUS: deployed" in said, said
        made = cluster.kubectl("get", *WHAT_IT_MADE)
        assert any(name.startswith("deployment.apps/fishshop") for name in made.split()), made
        _uninstall(env)

        own_build = readme_command(
            "helm install fishshop charts/fishshop -n fishshop-system --create-namespace "
            "--set image.repository=registry.example/fishshop --set image.tag=0.1.0"
        )
        _run(own_build, env)
        images = cluster.kubectl(
            "get", "deployments", "-n", "fishshop-system", "-o",
            "jsonpath={.items[*].spec.template.spec.containers[*].image}",
        )  # fmt: skip
        assert images.split() == ["registry.example/fishshop:0.1.0"], images
        _uninstall(env)
    finally:
        _without_the_operator(cluster)


@pytest.mark.broker
@pytest.mark.slow
def test_the_laptop_set_up_installs_in_a_virtualenv_and_runs_the_demo(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """The two commands' set-up as the README gives it where the system's Python
    refuses `pip install`: a virtualenv, `pip install -e .`, then `make demo` (on the
    session's broker, headless and short through its variables). The virtualenv sees
    the machine's packages, so this proves the install and the command, not that
    pyproject.toml names every dependency."""
    venv = tmp_path / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
        check=True, timeout=120,
    )  # fmt: skip
    env = without_fishshop_variables()
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    env.pop("PYTHONPATH", None)  # the virtualenv's install alone finds fishshop
    _run(readme_command("pip install -e ."), env, timeout=600)
    assert (venv / "bin" / "fishshop").exists()
    env.update(
        FISHSHOP_HEADLESS="1",
        FISHSHOP_DURATION="5",
        FISHSHOP_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
    )
    said = _run(readme_command("make demo"), env, timeout=600)
    assert "every order served exactly once" in said, said
