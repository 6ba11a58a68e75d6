"""Run fishshop commands as real processes, as pods and people run them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any


def fishshop_env(**variables: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({f"FISHSHOP_{k.upper()}": v for k, v in variables.items()})
    return env


def without_fishshop_variables() -> dict[str, str]:
    """This process's environment without any FISHSHOP_ variable: a user's shell."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FISHSHOP_")}


class Worker:
    """One ``fishshop <role>`` process, configured through FISHSHOP_* variables."""

    def __init__(
        self,
        role: str,
        log_dir: Path,
        name: str,
        environment: dict[str, str] | None = None,
        **variables: str,
    ) -> None:
        self.role = role
        self.environment = environment or {}
        self.name = name
        self.variables = {"worker_name": name, "log_level": "INFO", **variables}
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fishshop", self.role],
            env={**fishshop_env(**self.variables), **self.environment},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.starts += 1

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: the process keeps its connections but says nothing, as a
        worker stuck in a long GC pause or a frozen VM would (a zombie)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def terminate(self, timeout: float = 60.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.send_signal(signal.SIGCONT)  # a paused worker hears it too
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def run_fishshop(
    *args: str, timeout: float = 300.0, **variables: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fishshop", *args],
        env=fishshop_env(**variables),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def audit_json(
    bootstrap: str, shop: str, wait: float = 0.0, namespace: str | None = None
) -> dict[str, Any]:
    """``fishshop audit --json`` of a shop (``namespace`` for a shop in Kubernetes)."""
    where = ["--namespace", namespace] if namespace else []
    result = run_fishshop(
        "audit",
        "--shop",
        shop,
        *where,
        "--bootstrap-servers",
        bootstrap,
        "--wait",
        str(wait),
        "--json",
    )
    assert result.returncode in (0, 1), result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def scrape(port: int, path: str = "/metrics", timeout: float = 5.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def process_gone(pid: int) -> bool:
    """True when ``pid`` has ended: no such process, or a zombie nobody reaped yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in {"Z", "X"}


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not process_gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def port_open(port: int) -> bool:
    """Something listens on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_port_closed(port: int, timeout: float) -> bool:
    """A killed process's sockets close once its last thread is gone, a moment
    after it shows as a zombie."""
    deadline = time.monotonic() + timeout
    while port_open(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class Foreground:
    """A ``fishshop`` command a person runs in a terminal (``broker``, ``demo``),
    its output in a log file."""

    def __init__(self, log_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log_path = log_path
        log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fishshop", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_for(self, text: str, timeout: float) -> None:
        """Until ``text`` shows in the output; fails if the command ends first."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.process.poll() is not None:
                raise AssertionError(f"fishshop {self.args} exited: {self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} after {timeout:.0f}s: {self.log()}")
            time.sleep(0.2)

    def java_children(self) -> list[int]:
        return [
            pid
            for pid in children(self.process.pid)
            if Path(f"/proc/{pid}/exe").resolve().name == "java"
        ]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
