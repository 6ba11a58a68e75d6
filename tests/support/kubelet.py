"""A test harness that plays the kubelet: it runs each pod's container as a local process.

Nothing here runs containers. The harness binds pending pods to one node of its own,
starts each container's ``command`` and ``args`` with exactly the environment the
pod spec gives (field references resolved), probes readiness as the pod asks (its
path, port, timeout, period and failure threshold), writes the pod status (phase, IP,
Ready), restarts processes that exit, and stops a pod's process when the pod is
deleted. So what the operator wrote is what runs.

Each pod gets its own loopback address (127.N.x.y, N the harness's ``network``) as its
pod IP, so several workers can listen on the same metrics port, and two harnesses on
one machine (two pytest workers) never hand out the same address. Secret volumes are
written to a folder per pod and environment values that point into the mount are
pointed at that folder (the only place where what runs differs from the pod spec).

This is test code; it is never part of fishshop.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.cluster import Cluster, ClusterError

NODE = "fishshop-harness"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Readiness:
    """A container's HTTP readiness probe."""

    path: str
    port: int
    timeout: float
    period: float
    failure_threshold: int


@dataclass
class RunningPod:
    namespace: str
    name: str
    uid: str
    ip: str
    folder: Path
    command: list[str]
    env: dict[str, str]
    readiness: Readiness | None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    ready: bool | None = None
    started_at: float = 0.0
    exits: list[int] = field(default_factory=list)
    failing_since: float | None = None
    """When the readiness probe began to fail in a row (monotonic); None: it passes."""
    exit_counted: bool = False
    """The process's exit is in ``exits`` and ``restarts`` (once, not every pass)."""


class ProcessKubelet:
    """Runs the pods of namespaces whose name starts with ``prefix``."""

    def __init__(
        self,
        cluster: Cluster,
        folder: Path,
        prefix: str = "",
        run_processes: bool = True,
        *,
        network: int = 1,
    ) -> None:
        """``run_processes=False`` marks pods Ready without running them (for benchmarks
        of the control plane alone); pods' addresses are 127.``network``.x.y."""
        if not 1 <= network <= 254:
            raise ValueError(f"network must be 1 to 254, not {network}")
        self.network = network
        self.cluster = cluster
        self.run_processes = run_processes
        self.folder = folder
        self.prefix = prefix
        self.pods: dict[str, RunningPod] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_ip = 1
        self.errors: deque[str] = deque(maxlen=500)
        """What went wrong lately, newest last."""

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.cluster.exists(f"/api/v1/nodes/{NODE}"):
            self.cluster.request(
                "POST",
                "/api/v1/nodes",
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}},
                },
            )
        self.cluster.request(
            "PATCH",
            f"/api/v1/nodes/{NODE}/status",
            {
                "status": {
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "KubeletReady",
                            "message": "test harness runs pods as processes",
                            "lastHeartbeatTime": _now(),
                            "lastTransitionTime": _now(),
                        }
                    ],
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "capacity": {"cpu": "64", "memory": "64Gi", "pods": "500"},
                    "allocatable": {"cpu": "64", "memory": "64Gi", "pods": "500"},
                }
            },
            content_type="application/merge-patch+json",
        )
        self._thread = threading.Thread(target=self._run, name="process-kubelet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        for pod in list(self.pods.values()):
            self._kill(pod, grace=5)
        self.pods.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sync()
            except Exception as error:  # noqa: BLE001 - keep the harness alive, record why
                self.errors.append(repr(error))
            self._stop.wait(0.5)

    # -- one pass ----------------------------------------------------------------

    def _sync(self) -> None:
        listing = self.cluster.get("/api/v1/pods")
        seen = set()
        for pod in listing.get("items", []):
            meta = pod["metadata"]
            if not meta["namespace"].startswith(self.prefix):
                continue
            node = pod["spec"].get("nodeName")
            if node and node != NODE:
                continue
            uid = meta["uid"]
            seen.add(uid)
            try:
                self._step(pod, node)
            except Exception as error:  # noqa: BLE001 - as a kubelet: this pod waits, others run
                # A pod whose Secret is missing (a test of a bad Secret) stays pending
                # and is tried again next pass, as a real kubelet does; it must never
                # keep the pods after it in the list from starting.
                self.errors.append(f"{meta['namespace']}/{meta['name']}: {error!r}")
        for uid in set(self.pods) - seen:
            self._kill(self.pods.pop(uid), grace=5)

    def _step(self, pod: dict[str, Any], node: str | None) -> None:
        """One pod's part of a pass: deleted, bound, launched or tended."""
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            self._delete(pod)
        elif not node:
            self._bind(pod)
        elif (running := self.pods.get(meta["uid"])) is None:
            self._launch(pod)
        else:
            self._tend(running)

    def _bind(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(ClusterError):  # already bound: next pass sees it
            self.cluster.request(
                "POST",
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding",
                {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": meta["name"]},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": NODE},
                },
            )

    def _address(self) -> str:
        number = self._next_ip
        self._next_ip += 1
        return f"127.{self.network}.{number // 250}.{number % 250 + 1}"

    def _launch(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        container = pod["spec"]["containers"][0]
        folder = self.folder / meta["namespace"] / f"{meta['name']}-{meta['uid'][:8]}"
        folder.mkdir(parents=True, exist_ok=True)
        ip = self._address()
        mounts = self._volumes(pod, container, folder)
        env = self._environment(pod, container, ip, mounts)
        command = [*container.get("command", []), *container.get("args", [])]
        readiness = None
        spec = container.get("readinessProbe") or {}
        probe = spec.get("httpGet")
        if probe:
            port = probe["port"]
            if isinstance(port, str):
                port = next(p["containerPort"] for p in container["ports"] if p["name"] == port)
            readiness = Readiness(
                probe.get("path", "/"),
                int(port),
                timeout=float(spec.get("timeoutSeconds", 1)),
                period=float(spec.get("periodSeconds", 10)),
                failure_threshold=int(spec.get("failureThreshold", 3)),
            )
        running = RunningPod(
            meta["namespace"], meta["name"], meta["uid"], ip, folder, command, env, readiness
        )
        self.pods[meta["uid"]] = running
        if not self.run_processes:
            self._write_status(running, ready=True)
            return
        self._spawn(running)
        self._write_status(running, ready=False)

    def _volumes(
        self, pod: dict[str, Any], container: dict[str, Any], folder: Path
    ) -> dict[str, Path]:
        """Secret and emptyDir volumes as folders; mount path -> local folder."""
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        mounts: dict[str, Path] = {}
        for mount in container.get("volumeMounts", []):
            volume = volumes.get(mount["name"], {})
            local = folder / "volumes" / mount["name"]
            local.mkdir(parents=True, exist_ok=True)
            for source in volume.get("projected", {}).get("sources", []):
                # As a kubelet does: each Secret's items into the one folder (a service
                # account token's sources are not given: no pod of the tests reads them).
                if "secret" not in source:
                    continue
                ref = source["secret"]
                secret = self.cluster.get(
                    f"/api/v1/namespaces/{pod['metadata']['namespace']}/secrets/{ref['name']}"
                )
                data = secret.get("data") or {}
                for item in ref.get("items") or [{"key": k, "path": k} for k in data]:
                    (local / item["path"]).write_bytes(base64.b64decode(data[item["key"]]))
            if "secret" in volume:
                name = volume["secret"]["secretName"]
                secret = self.cluster.get(
                    f"/api/v1/namespaces/{pod['metadata']['namespace']}/secrets/{name}"
                )
                data = secret.get("data") or {}
                # As a kubelet does: with items, only those keys, under their paths.
                items = volume["secret"].get("items") or [{"key": k, "path": k} for k in data]
                for item in items:
                    (local / item["path"]).write_bytes(base64.b64decode(data[item["key"]]))
            mounts[mount["mountPath"]] = local
        return mounts

    def _environment(
        self, pod: dict[str, Any], container: dict[str, Any], ip: str, mounts: dict[str, Path]
    ) -> dict[str, str]:
        meta = pod["metadata"]
        env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
        }
        for item in container.get("env", []):
            if "value" in item:
                value = str(item["value"])
            elif "secretKeyRef" in item["valueFrom"]:
                ref = item["valueFrom"]["secretKeyRef"]
                secret = self.cluster.get(
                    f"/api/v1/namespaces/{meta['namespace']}/secrets/{ref['name']}"
                )
                data = secret.get("data") or {}
                if ref["key"] not in data and ref.get("optional"):
                    continue  # as a kubelet does: an optional key that is missing sets nothing
                value = base64.b64decode(data[ref["key"]]).decode()
            else:
                path = item["valueFrom"]["fieldRef"]["fieldPath"]
                fields = {
                    "metadata.name": meta["name"],
                    "metadata.namespace": meta["namespace"],
                    "metadata.uid": meta["uid"],
                    "status.podIP": ip,
                    "status.hostIP": "127.0.0.1",
                    "spec.nodeName": NODE,
                }
                if path.startswith("metadata.labels['"):
                    value = meta.get("labels", {}).get(path[len("metadata.labels['") : -2], "")
                else:
                    value = fields[path]
            for mount_path, local in mounts.items():
                if value == mount_path or value.startswith(mount_path + "/"):
                    value = str(local) + value[len(mount_path) :]
            env[item["name"]] = value
        return env

    def _spawn(self, pod: RunningPod) -> None:
        log = (pod.folder / "container.log").open("ab")
        pod.process = subprocess.Popen(
            pod.command,
            env=pod.env,
            cwd=pod.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        pod.started_at = time.monotonic()
        pod.exit_counted = False
        pod.failing_since = None

    def _tend(self, pod: RunningPod) -> None:
        if pod.process is None:
            return
        code = pod.process.poll()
        if code is not None:
            if not pod.exit_counted:
                pod.exits.append(code)
                pod.restarts += 1
                pod.exit_counted = True
            backoff = min(2 ** min(pod.restarts, 5), 20)
            if time.monotonic() - pod.started_at < backoff:
                if pod.ready is not False:
                    self._write_status(pod, ready=False)
                return
            self._spawn(pod)
            self._write_status(pod, ready=False)
            return
        ready = self._probe(pod)
        if ready != pod.ready:
            self._write_status(pod, ready)

    def _probe(self, pod: RunningPod) -> bool:
        """Ready as a kubelet would say: a pod not yet ready is ready at its first
        passing probe; a ready one stays ready until its probe has failed
        ``failureThreshold`` times in a row, a period apart, that is for
        ``failureThreshold - 1`` periods (a probe that answers late once, on a loaded
        machine, does not take the pod out of service)."""
        check = pod.readiness
        if check is None:
            return True
        url = f"http://{pod.ip}:{check.port}{check.path}"
        try:
            with urllib.request.urlopen(url, timeout=check.timeout) as response:
                passed = bool(200 <= response.status < 400)
        except OSError:
            passed = False
        if passed:
            pod.failing_since = None
            return True
        now = time.monotonic()
        if pod.failing_since is None:
            pod.failing_since = now
        patience = (check.failure_threshold - 1) * check.period
        return bool(pod.ready) and now - pod.failing_since < patience

    def _write_status(self, pod: RunningPod, ready: bool) -> None:
        pod.ready = ready
        flag = "True" if ready else "False"
        now = _now()
        with contextlib.suppress(ClusterError):  # the pod may be gone already
            self.cluster.request(
                "PATCH",
                f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/status",
                {
                    "status": {
                        "phase": "Running",
                        "hostIP": "127.0.0.1",
                        "podIP": pod.ip,
                        "podIPs": [{"ip": pod.ip}],
                        "startTime": now,
                        "conditions": [
                            {"type": "PodScheduled", "status": "True"},
                            {"type": "Initialized", "status": "True"},
                            {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
                            {"type": "Ready", "status": flag, "lastTransitionTime": now},
                        ],
                        "containerStatuses": [
                            {
                                "name": pod.command[1] if len(pod.command) > 1 else "main",
                                "ready": ready,
                                "started": True,
                                "restartCount": pod.restarts,
                                "image": "process",
                                "imageID": "process",
                                "state": {"running": {"startedAt": now}},
                            }
                        ],
                    }
                },
                content_type="application/strategic-merge-patch+json",
            )

    def _delete(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        running = self.pods.pop(meta["uid"], None)
        if running is not None:
            grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
            self._kill(running, grace=min(grace, 20))
        with contextlib.suppress(ClusterError):
            self.cluster.request(
                "DELETE",
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0},
            )

    def _kill(self, pod: RunningPod, grace: float) -> None:
        process = pod.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    # -- for tests -----------------------------------------------------------------

    def running(self, namespace: str, prefix: str = "") -> list[RunningPod]:
        return [
            p
            for p in list(self.pods.values())
            if p.namespace == namespace
            and p.name.startswith(prefix)
            and p.process is not None
            and p.process.poll() is None
        ]

    def logs(self, namespace: str) -> str:
        out = []
        for path in sorted((self.folder / namespace).glob("*/container.log")):
            out.append(f"--- {path.parent.name}\n{path.read_text()[-2000:]}")
        return "\n".join(out)

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
