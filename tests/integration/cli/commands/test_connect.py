"""`fishshop connect` on the real broker: the worker serves its REST API in the
foreground, and SIGTERM stops it, JVM and all."""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path

import pytest

from fishshop_workers.embedded.kafka import EmbeddedBroker, free_port
from tests.support.processes import Foreground, fishshop_env, run_fishshop

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _connectors(url: str) -> list[str] | None:
    try:
        with urllib.request.urlopen(f"{url}/connectors", timeout=2) as response:
            return list(json.load(response))
    except (OSError, ValueError):
        return None


def test_connect_serves_its_rest_api_until_sigterm(broker: EmbeddedBroker, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    connect = Foreground(
        tmp_path / "connect.log",
        "connect",
        "--bootstrap-servers",
        broker.bootstrap_servers,
        "--port",
        str(port),
        "--group-id",
        f"fishshop-connect-{uuid.uuid4().hex[:6]}",
        "--data-dir",
        str(tmp_path / "connect"),
        env=fishshop_env(),
    )
    try:
        # What a person waits for: the command's own word that the worker serves.
        connect.wait_for(f"Kafka Connect REST API on {url}", 240)
        assert _connectors(url) == []
        jvms = connect.java_children()
        assert jvms, "fishshop connect should run the worker as its child"
    finally:
        code = connect.terminate(60)
    said = connect.log()
    assert code in (0, 130), said
    assert "Traceback" not in said
    assert [pid for pid in jvms if Path(f"/proc/{pid}").exists()] == [], "the JVM outlived it"
    assert _connectors(url) is None, "the REST API still answers"


def test_install_plugin_puts_the_pinned_sink_where_a_connect_cluster_reads_it(
    tmp_path: Path,
) -> None:
    """What the kind path's init container runs: the pinned jars, checked, into a
    plugin path folder of one's own."""
    from fishshop_workers.embedded.connect import SINK_LOCK_FILE
    from fishshop_workers.embedded.jars import read_lock

    result = run_fishshop("connect", "--install-plugin", str(tmp_path / "plugins"))
    assert result.returncode == 0, result.stderr
    assert f"plugin.path={tmp_path / 'plugins' / 'connect-plugins'}" in result.stderr
    jars = {path.name for path in (tmp_path / "plugins" / "connect-plugins").glob("*/*.jar")}
    assert jars == {jar.file_name for jar in read_lock(SINK_LOCK_FILE.read_text())}
