"""A local Kafka Connect worker for the analyst, owned by fishshop like the broker.

It is Apache Kafka's own Connect runtime, from the same pinned jars as the broker,
run as a one-worker *distributed* cluster: connector configs, offsets and statuses
live in Kafka topics of its own, so a worker killed and started again finds its
connectors, and it answers the same REST API as any Connect cluster (which is what
the operator speaks to on Kubernetes). Debezium's JDBC sink connector and the
PostgreSQL driver are fetched as a Connect plugin from Maven Central (pinned in
``jdbc-sink-jars.lock``) into the cache beside Kafka's jars.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TextIO

from fishshop_workers.embedded.jars import BrokerFetchError, cache_root, ensure_jars
from fishshop_workers.embedded.kafka import free_port
from fishshop_workers.embedded.process import BrokerStartError, java_command
from fishshop_workers.embedded.server import LocalServer
from fishshop_workers.errors import ServiceError

__all__ = [
    "JDBC_SINK_VERSION",
    "ConnectStartError",
    "EmbeddedConnect",
    "connect_worker_properties",
    "ensure_sink_plugin",
]

JDBC_SINK_VERSION = "3.5.0.Final"
SINK_LOCK_FILE = Path(__file__).parent / "locks" / "jdbc-sink" / "jdbc-sink-jars.lock"
PLUGINS_FOLDER = "connect-plugins"

LOG4J2_PROPERTIES = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/connect.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %X{connector.context}%m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.connect.name = org.apache.kafka.connect
logger.connect.level = INFO
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.hibernate.name = org.hibernate
logger.hibernate.level = WARN
logger.mchange.name = com.mchange
logger.mchange.level = WARN
"""


class ConnectStartError(ServiceError, RuntimeError):
    """The local Connect worker did not start; the message says why and what to do."""


def ensure_sink_plugin(progress: TextIO | None = sys.stderr, root: Path | None = None) -> Path:
    """The plugin path holding Debezium's JDBC sink, fetched on first use (into
    ``root``, else the cache)."""
    folder = f"{PLUGINS_FOLDER}/debezium-jdbc-sink-{JDBC_SINK_VERSION}"
    try:
        ensure_jars(
            progress,
            lock_file=SINK_LOCK_FILE,
            folder=folder,
            title=f"Debezium's JDBC sink connector {JDBC_SINK_VERSION}",
            root=root,
        )
    except BrokerFetchError as error:
        raise ConnectStartError(str(error)) from error
    return (root or cache_root()) / PLUGINS_FOLDER


def connect_worker_properties(
    *,
    bootstrap_servers: str,
    rest_port: int,
    group_id: str,
    plugin_path: Path,
    replication_factor: int = 1,
) -> str:
    """The worker's properties: a distributed worker whose topics carry its group id."""
    lines = {
        "bootstrap.servers": bootstrap_servers,
        "group.id": group_id,
        "config.storage.topic": f"{group_id}.configs",
        "offset.storage.topic": f"{group_id}.offsets",
        "status.storage.topic": f"{group_id}.status",
        "config.storage.replication.factor": str(replication_factor),
        "offset.storage.replication.factor": str(replication_factor),
        "status.storage.replication.factor": str(replication_factor),
        "offset.storage.partitions": "1",
        "status.storage.partitions": "1",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "listeners": f"http://127.0.0.1:{rest_port}",
        "rest.advertised.host.name": "127.0.0.1",
        "rest.advertised.port": str(rest_port),
        "plugin.path": str(plugin_path),
        # The sink and Kafka's converters name themselves in META-INF/services: found
        # that way, the worker starts in about a third of the time it takes to scan
        # every class of the plugin path (Hibernate and all) for plugins.
        "plugin.discovery": "service_load",
        # Connectors may set their own consumer options (read_committed).
        "connector.client.config.override.policy": "All",
        "offset.flush.interval.ms": "2000",
        # One worker: a restarted one takes its tasks back at once.
        "scheduled.rebalance.max.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())


class EmbeddedConnect(LocalServer):
    """A one-worker Kafka Connect cluster on loopback, using the broker's jars.

    ``start()`` fetches the jars and the sink plugin if needed and waits until the
    REST API lists connectors (the worker has joined its group); ``kill()`` is a
    crash; ``start()`` again resumes the same connectors from Kafka.
    """

    title = "the local Kafka Connect worker"

    def __init__(
        self,
        data_dir: Path,
        bootstrap_servers: str,
        port: int | None = None,
        *,
        group_id: str = "fishshop-connect",
        replication_factor: int = 1,
        heap_mb: int = 384,
        progress: TextIO | None = sys.stderr,
    ) -> None:
        super().__init__(data_dir, port or free_port())
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.replication_factor = replication_factor
        self.heap_mb = heap_mb
        self.progress = progress

    @property
    def url(self) -> str:
        """The REST API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "connect.log"

    def start(self, timeout: float = 120.0) -> None:
        if self.running:
            return
        try:
            libs = ensure_jars(progress=self.progress)
        except BrokerFetchError as error:
            raise ConnectStartError(str(error)) from error
        plugin_path = ensure_sink_plugin(self.progress)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "connect.properties"
        config.write_text(
            connect_worker_properties(
                bootstrap_servers=self.bootstrap_servers,
                rest_port=self.port,
                group_id=self.group_id,
                plugin_path=plugin_path,
                replication_factor=self.replication_factor,
            )
        )
        log_config = self.data_dir / "log4j2.properties"
        log_config.write_text(LOG4J2_PROPERTIES)
        try:
            command = java_command(
                libs,
                "org.apache.kafka.connect.cli.ConnectDistributed",
                str(config),
                heap_mb=self.heap_mb,
                logs_dir=self.data_dir,
                log_config=log_config,
            )
        except BrokerStartError as error:
            raise ConnectStartError(str(error).replace("Kafka broker", "Kafka Connect")) from error
        self._spawn(command, self.data_dir / "connect.out")
        self._wait_until(
            self._lists_connectors,
            timeout,
            exited=(
                f"the Kafka Connect worker exited at start; see {self.log_file} "
                f"and {self.data_dir / 'connect.out'}"
            ),
            late=(
                f"the Kafka Connect worker did not serve within {timeout:.0f}s "
                f"(is Kafka at {self.bootstrap_servers} up?); see {self.log_file}"
            ),
            error=ConnectStartError,
            interval=0.25,
        )

    def _lists_connectors(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/connectors", timeout=2) as response:  # noqa: S310
                json.load(response)
                return bool(response.status == 200)
        except (OSError, ValueError, urllib.error.URLError):
            return False
