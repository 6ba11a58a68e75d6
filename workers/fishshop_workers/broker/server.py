"""Run a single-node KRaft Kafka broker on loopback from the cached jars."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from fishshop_workers.broker.jars import BrokerFetchError, ensure_jars

__all__ = ["BrokerStartError", "EmbeddedBroker", "broker_properties", "free_port"]

READY_LINE = "Kafka Server started"

LOG4J2_PROPERTIES = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


class BrokerStartError(RuntimeError):
    """The embedded broker did not start; the message says why and what to do."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def broker_properties(
    port: int,
    controller_port: int,
    log_dir: Path,
    extra_listeners: Mapping[str, tuple[str, int]] | None = None,
    extra_properties: Mapping[str, str] | None = None,
) -> str:
    """server.properties for one node acting as broker and controller.

    ``extra_listeners`` adds listeners by name: ``{"SSL": ("SSL", 9093)}``; their
    settings (certificates, SASL) come in ``extra_properties``.
    """
    extra = dict(extra_listeners or {})
    listeners = [f"PLAINTEXT://127.0.0.1:{port}"] + [
        f"{name}://127.0.0.1:{extra_port}" for name, (_, extra_port) in extra.items()
    ]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"] + [
        f"{name}:{protocol}" for name, (protocol, _) in extra.items()
    ]
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": ",".join([*listeners, f"CONTROLLER://127.0.0.1:{controller_port}"]),
        "advertised.listeners": ",".join(listeners),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": ",".join(protocols),
        "log.dirs": str(log_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "5",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # The cleaner's buffer defaults to 128 MiB: too much for a 512 MiB heap.
        "log.cleaner.dedupe.buffer.size": str(4 * 1024 * 1024),
        # A crashed transactional worker's open transaction is aborted this soon.
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
        "transaction.max.timeout.ms": "900000",
        **(extra_properties or {}),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


class EmbeddedBroker:
    """A Kafka broker process owned by fishshop.

    ``start()`` fetches the jars if needed, formats storage on first use and waits
    until the broker serves; ``stop()`` shuts it down; ``start()`` again restarts
    it on the same ports and data.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        heap_mb: int = 512,
        progress: TextIO | None = sys.stderr,
        extra_listeners: Mapping[str, tuple[str, int]] | None = None,
        extra_properties: Mapping[str, str] | None = None,
        format_arguments: Sequence[str] = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.controller_port = free_port()
        self.heap_mb = heap_mb
        self.progress = progress
        self.extra_listeners = dict(extra_listeners or {})
        self.extra_properties = dict(extra_properties or {})
        self.format_arguments = list(format_arguments)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        candidate = Path(java_home) / "bin" / "java" if java_home else None
        if candidate and candidate.exists():
            return str(candidate)
        found = shutil.which("java")
        if not found:
            raise BrokerStartError(
                "Java 17 or newer is needed to run the embedded Kafka broker: "
                "install it (Debian: apt-get install openjdk-17-jre-headless) or "
                "pass --bootstrap-servers to use a Kafka you already have."
            )
        return found

    def _command(self, libs: Path, main: str, *args: str) -> list[str]:
        return [
            self._java(),
            f"-Xmx{self.heap_mb}m",
            f"-Xms{self.heap_mb}m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.data_dir}",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def _prepare(self, libs: Path) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(
            broker_properties(
                self.port,
                self.controller_port,
                self.data_dir / "logs",
                self.extra_listeners,
                self.extra_properties,
            )
        )
        (self.data_dir / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        if not (self.data_dir / "logs" / "meta.properties").exists():
            cluster_id = _kafka_uuid()
            result = subprocess.run(  # noqa: S603
                self._command(
                    libs,
                    "kafka.tools.StorageTool",
                    "format",
                    # One argument, "=" form: a random id may begin with "-".
                    f"--cluster-id={cluster_id}",
                    "-c",
                    str(config),
                    *self.format_arguments,
                ),
                capture_output=True,
                check=False,
            )
            if result.returncode != 0:
                raise BrokerStartError(
                    "formatting the broker's storage failed: "
                    + result.stderr.decode(errors="replace")[-2000:]
                )
        return config

    def start(self, timeout: float = 90.0) -> None:
        if self.running:
            return
        try:
            libs = ensure_jars(progress=self.progress)
        except BrokerFetchError as error:
            raise BrokerStartError(str(error)) from error
        config = self._prepare(libs)
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        stdout = (self.data_dir / "broker.out").open("ab")
        self._process = subprocess.Popen(  # noqa: S603
            self._command(libs, "kafka.Kafka", str(config)),
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stdout.close()
        self._wait_ready(offset, timeout)

    def _wait_ready(self, offset: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise BrokerStartError(
                    f"the embedded Kafka broker exited at start; see {self.log_file} "
                    f"and {self.data_dir / 'broker.out'}"
                )
            if self.log_file.exists():
                with self.log_file.open("rb") as log:
                    log.seek(offset)
                    if READY_LINE.encode() in log.read():
                        return
            time.sleep(0.2)
        self.stop()
        raise BrokerStartError(
            f"the embedded Kafka broker did not start within {timeout:.0f}s; see {self.log_file}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def wait(self) -> int | None:
        """Block until the broker exits; its exit code."""
        process = self._process
        return None if process is None else process.wait()

    def kill(self) -> None:
        """Stop the broker abruptly, as a crash would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _kafka_uuid() -> str:
    """A cluster id in Kafka's URL-safe base64 form."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
