"""A real, local Kubernetes control plane for tests and for ``make cluster``.

etcd, kube-apiserver and kube-controller-manager, built from the Go module proxy by
``scripts/build-kube.sh`` (cached), started on loopback with certificates made by
openssl. The controller manager turns Deployments and StatefulSets into Pods and
garbage-collects what a deleted FishShop owned. No node runs containers: the test
harness in ``tests/support/kubelet.py`` plays that part.

``python -m tests.support.cluster up|down`` starts and stops one for a person.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.stopping import command_line, is_ours, is_running, stop_process_group

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-kube.sh"

STOP_ORDER = ("kube-controller-manager", "kube-apiserver", "etcd")
"""Clients before servers: the API server shuts down cleanly only while etcd answers."""

STOP_PATIENCE = 30.0
"""Seconds each process gets to stop after SIGTERM before SIGKILL (the API server
drains its requests first)."""


class ClusterError(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("FISHSHOP_CACHE_DIR", Path.home() / ".cache" / "fishshop"))


def build_binaries() -> Path:
    """Build (or find in the cache) etcd, kube-apiserver, kube-controller-manager, kubectl."""
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True, check=False
    )
    if result.returncode != 0:
        raise ClusterError(
            "building the Kubernetes control plane failed (see the output above); "
            "it needs Go and the Go module proxy"
        )
    return Path(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_certificates(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "30", "-subj", "/CN=fishshop-test-kubernetes-ca", cwd=folder,
    )  # fmt: skip
    certificates = {
        "apiserver": (
            "/CN=kube-apiserver",
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc\n"
            "extendedKeyUsage=serverAuth\n",
        ),
        "admin": ("/O=system:masters/CN=fishshop-admin", "extendedKeyUsage=clientAuth\n"),
    }
    for name, (subject, extensions) in certificates.items():
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", subject, cwd=folder,
        )  # fmt: skip
        (folder / f"{name}.ext").write_text(extensions)
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "30",
            "-extfile", f"{name}.ext", cwd=folder,
        )  # fmt: skip
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=folder)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=folder)


@dataclass
class Cluster:
    """A running control plane, its kubeconfig and a tiny JSON client for tests."""

    folder: Path
    bin_dir: Path
    port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.folder / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubectl_path(self) -> Path:
        return self.bin_dir / "kubectl"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    # -- lifecycle -------------------------------------------------------------

    def start(self, detach: bool = False) -> None:
        """Start etcd, kube-apiserver and kube-controller-manager; stop them on failure."""
        try:
            self._start(detach)
        except BaseException:
            self.stop()
            raise

    def _start(self, detach: bool) -> None:
        certs = self.folder / "pki"
        _make_certificates(certs)
        logs = self.folder / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        etcd_port, peer_port = free_port(), free_port()
        self.port = self.port or free_port()
        self._spawn(
            "etcd",
            [
                "--name=fishshop", f"--data-dir={self.folder / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=fishshop=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync", "--log-level=warn",
                "--listen-metrics-urls=http://127.0.0.1:0",
            ],
            logs, detach,
        )  # fmt: skip
        self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                f"--secure-port={self.port}", "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--cert-dir={certs}",
                f"--tls-cert-file={certs / 'apiserver.pem'}",
                f"--tls-private-key-file={certs / 'apiserver.key'}",
                f"--client-ca-file={certs / 'ca.pem'}",
                f"--service-account-key-file={certs / 'sa.pub'}",
                f"--service-account-signing-key-file={certs / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--service-cluster-ip-range=10.96.0.0/24",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=false",
                "--enable-priority-and-fairness=false",
                "--v=0",
            ],
            logs, detach,
        )  # fmt: skip
        self._write_kubeconfig(certs)
        self.wait_healthy(90)
        self._spawn(
            "kube-controller-manager",
            [
                f"--kubeconfig={self.kubeconfig}",
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0",
                f"--service-account-private-key-file={certs / 'sa.key'}",
                f"--root-ca-file={certs / 'ca.pem'}",
                "--controllers=*,-nodelifecycle,-nodeipam,-cloud-node-lifecycle,"
                "-persistentvolume-binder,-attachdetach,-ttl",
                "--concurrent-gc-syncs=5",
                "--v=0",
            ],
            logs, detach,
        )  # fmt: skip
        self._wait_for_default_service_account(60)

    def _spawn(self, name: str, args: list[str], logs: Path, detach: bool) -> None:
        log = (logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [str(self.bin_dir / name), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=detach,
        )
        self.processes[name] = process
        (self.folder / f"{name}.pid").write_text(str(process.pid))

    def _write_kubeconfig(self, certs: Path) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "fishshop",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority": str(certs / "ca.pem"),
                    },
                }
            ],
            "users": [
                {
                    "name": "fishshop-admin",
                    "user": {
                        "client-certificate": str(certs / "admin.pem"),
                        "client-key": str(certs / "admin.key"),
                    },
                }
            ],
            "contexts": [
                {
                    "name": "fishshop",
                    "context": {
                        "cluster": "fishshop",
                        "user": "fishshop-admin",
                        "namespace": "default",
                    },
                }
            ],
            "current-context": "fishshop",
        }
        self.kubeconfig.write_text(json.dumps(config, indent=2))

    def wait_healthy(self, patience: float) -> None:
        deadline = time.monotonic() + patience
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    tail = (self.folder / "logs" / f"{name}.log").read_text()[-3000:]
                    raise ClusterError(f"{name} exited with {process.returncode}:\n{tail}")
            try:
                if self.request("GET", "/readyz") == "ok":
                    return
            except (OSError, ClusterError):
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"kube-apiserver not ready after {patience}s")
            time.sleep(0.5)

    def _wait_for_default_service_account(self, patience: float) -> None:
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            try:
                self.get("/api/v1/namespaces/default/serviceaccounts/default")
                return
            except ClusterError:
                time.sleep(0.5)
        raise ClusterError("kube-controller-manager did not create the default ServiceAccount")

    def stop(self) -> None:
        for name in STOP_ORDER:
            process = self.processes.pop(name, None)
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- a tiny client -----------------------------------------------------------

    def _ssl(self) -> ssl.SSLContext:
        certs = self.folder / "pki"
        context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        context.load_cert_chain(str(certs / "admin.pem"), str(certs / "admin.key"))
        return context

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.server + path, data=data, method=method)
        request.add_header("Content-Type", content_type)
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, context=self._ssl(), timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            raise ClusterError(f"{method} {path}: {error.code} {error.read().decode()}") from error
        try:
            return json.loads(text)
        except ValueError:
            return text

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def exists(self, path: str) -> bool:
        try:
            self.get(path)
        except ClusterError as error:
            if " 404 " in str(error):
                return False
            raise
        return True

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> str:
        result = subprocess.run(
            [str(self.kubectl_path), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            input=input,
            check=False,
        )
        if check and result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout if check else result.stdout + result.stderr


# -- make cluster / make cluster-down ---------------------------------------------


def _state_dir() -> Path:
    return cache_dir() / "cluster"


def up(folder: Path | None = None) -> int:
    folder = folder or _state_dir()
    if (folder / "kube-apiserver.pid").exists():
        down(folder)
    print("fishshop: building or finding etcd and Kubernetes (cold: 10 to 20 minutes)...")
    bin_dir = build_binaries()
    if folder.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    folder.mkdir(parents=True)
    cluster = Cluster(folder, bin_dir)
    cluster.start(detach=True)
    crd = ROOT / "manifests" / "crd" / "fishshops.fishshop.dev.yaml"
    cluster.kubectl("apply", "-f", str(crd))
    print(f"fishshop: control plane on {cluster.server}; logs in {folder / 'logs'}")
    print("fishshop: no node runs containers here: run `fishshop operator` beside it")
    print(f"export KUBECONFIG={cluster.kubeconfig} PATH={bin_dir}:$PATH")
    return 0


def down(folder: Path | None = None, patience: float = STOP_PATIENCE) -> int:
    """Stop the control plane ``up`` started in ``folder``, one process at a time:
    SIGTERM to its process group, a bounded wait until it has exited, then SIGKILL.

    Only processes that are still the ones ``up`` recorded are signalled, so a stale
    pid file never hits another process, nor another engineer's cluster.
    """
    folder = folder or _state_dir()
    stopped: list[str] = []
    for name in STOP_ORDER:
        pid_file = folder / f"{name}.pid"
        if not pid_file.exists():
            continue
        try:
            pid = int(pid_file.read_text())
        except ValueError:
            pid = 0
        argv = command_line(pid) if pid > 0 else None
        if argv is not None and is_running(pid):
            if is_ours(argv, name, folder):
                polite = stop_process_group(pid, patience)
                stopped.append(name if polite else f"{name} (killed after {patience:.0f}s)")
            else:
                print(f"fishshop: pid {pid} in {pid_file} is no longer {name}; left alone")
        pid_file.unlink()
    print(
        f"fishshop: stopped {len(stopped)} control plane processes"
        + (f": {', '.join(stopped)}" if stopped else "")
    )
    return 0


if __name__ == "__main__":
    commands = {"up": up, "down": down}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print("usage: python -m tests.support.cluster up|down", file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
