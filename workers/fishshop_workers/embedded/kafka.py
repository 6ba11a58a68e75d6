"""Run a KRaft Kafka node on loopback from the cached jars: a broker of its own,
or one node of an ``EmbeddedCluster``."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from fishshop_workers.embedded.jars import BrokerFetchError, ensure_jars
from fishshop_workers.embedded.kafka_properties import QuorumSeat, broker_properties
from fishshop_workers.embedded.process import BrokerStartError, java_command, spawn_owned
from fishshop_workers.embedded.server import LocalServer

__all__ = [
    "BrokerStartError",
    "EmbeddedBroker",
    "QuorumSeat",
    "broker_properties",
    "free_port",
    "kafka_uuid",
]

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


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kafka_uuid() -> str:
    """A cluster id in Kafka's URL-safe base64 form."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class EmbeddedBroker(LocalServer):
    """A Kafka node process owned by fishshop: it dies with the process that
    started it, even one killed with SIGKILL (on Linux).

    ``start()`` fetches the jars if needed, formats storage on first use and waits
    until the broker serves; ``stop()`` shuts it down; ``start()`` again restarts
    it on the same ports and data. With ``seat`` it is one node of a cluster
    (see ``EmbeddedCluster``), else a cluster of its own.
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
        *,
        seat: QuorumSeat | None = None,
    ) -> None:
        super().__init__(data_dir, port or free_port())
        self.seat = seat
        self.controller_port = seat.controller_port if seat else free_port()
        self.heap_mb = heap_mb
        self.progress = progress
        self.extra_listeners = dict(extra_listeners or {})
        self.extra_properties = dict(extra_properties or {})
        self.format_arguments = list(format_arguments)
        self._log_offset = 0

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def node_id(self) -> int:
        return self.seat.node_id if self.seat else 1

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def _command(self, libs: Path, main: str, *args: str) -> list[str]:
        return java_command(
            libs,
            main,
            *args,
            heap_mb=self.heap_mb,
            logs_dir=self.data_dir,
            log_config=self.data_dir / "log4j2.properties",
        )

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
                seat=self.seat,
            )
        )
        (self.data_dir / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        if not (self.data_dir / "logs" / "meta.properties").exists():
            self._format(libs, config)
        return config

    def _format(self, libs: Path, config: Path) -> None:
        cluster_id = self.seat.cluster_id if self.seat else kafka_uuid()
        formatting = spawn_owned(
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
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, errors = formatting.communicate()
        if formatting.returncode != 0:
            raise BrokerStartError(
                "formatting the broker's storage failed: " + errors.decode(errors="replace")[-2000:]
            )

    def start(self, timeout: float = 90.0) -> None:
        if self.running:
            return
        self.launch()
        self.wait_ready(timeout)

    def launch(self, libs: Path | None = None) -> None:
        """Start the JVM without waiting for it to serve (``wait_ready`` does)."""
        if self.running:
            return
        if libs is None:
            try:
                libs = ensure_jars(progress=self.progress)
            except BrokerFetchError as error:
                raise BrokerStartError(
                    f"{error} Or pass --bootstrap-servers to use a Kafka you already have."
                ) from error
        config = self._prepare(libs)
        self._log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        self._spawn(self._command(libs, "kafka.Kafka", str(config)), self.data_dir / "broker.out")

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Wait until the launched broker serves; stop it if it does not in time."""
        self._wait_ready(self._log_offset, timeout)

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
