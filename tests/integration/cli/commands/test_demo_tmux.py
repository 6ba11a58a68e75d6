"""The real ``fishshop demo`` in a real terminal: tmux runs it, send-keys types,
capture-pane reads the screen, as a person at the keyboard would."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fishshop_workers.kafka.settings import KafkaSettings
from tests.support.readme import fishshop_words

pytestmark = [
    pytest.mark.broker,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is needed to run the demo in a terminal (apt-get install tmux)",
    ),
]

REPO = Path(__file__).resolve().parents[4]
EXITED = "fishshop exited with "


class Terminal:
    """One tmux server of the test's own, with one 160x48 window."""

    def __init__(self) -> None:
        self.socket = f"fishshop-test-{uuid.uuid4().hex[:8]}"
        self.socket_path: Path | None = None

    def tmux(self, *args: str) -> str:
        # Something in the test process exports COLUMNS=80 and LINES=24 below
        # os.environ; the demo would believe them rather than the 160x48 window.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True, env=env
        )
        return result.stdout

    def start(self, command: str) -> None:
        # The shell stays after the demo ends, so the screen can still be read.
        shell = f"{command}; echo {EXITED}$?; sleep 300"
        self.tmux("new-session", "-d", "-x", "160", "-y", "48", "-c", str(REPO), shell)
        self.socket_path = Path(self.tmux("display", "-p", "#{socket_path}").strip())

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-100")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def wait_for(self, what: str, check: Callable[[str], bool], timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.5)
        size = self.tmux("display", "-p", "#{window_width}x#{window_height}")
        raise AssertionError(f"timed out waiting for {what}; the {size} screen:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)  # tmux may leave it behind


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    yield term
    term.close()


def _as_written(words: list[str]) -> str:
    """A README ``fishshop`` command (its ``fishshop_words``) for the terminal, run by
    the tests' Python."""
    return shlex.join([sys.executable, "-m", "fishshop", *words])


def _port_open(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def test_the_demo_runs_live_in_a_terminal_and_quits_cleanly(terminal: Terminal) -> None:
    terminal.start(_as_written(fishshop_words("fishshop demo")))
    screen = terminal.wait_for(
        "the live view with served orders and rates",
        lambda s: "✓ till " in s and "/min" in s,
    )
    assert "Till 1 → partition 0" in screen and "Till 3 → partition 2" in screen
    assert "Preparer 1 · partition" in screen and "Preparer 2 · partition" in screen
    assert "two-preparers · OPEN · 3 tills · 2 preparers · 0 cooks · 3 partitions" in screen
    assert "wait p50 " in screen and "queue p0 " in screen
    assert "q quit" in screen

    terminal.keys("p")
    terminal.wait_for("a third preparer", lambda s: "3 preparers" in s, timeout=60)

    terminal.keys("q")
    screen = terminal.wait_for("the demo to exit", lambda s: EXITED in s, timeout=60)
    assert f"{EXITED}0" in screen, screen
    assert "Traceback" not in screen and "Error" not in screen, screen
    assert "shop 'two-preparers' closed: " in screen and "0 served twice" in screen
    bootstrap = next(
        line.split("broker ready on ")[1].strip()
        for line in screen.splitlines()
        if "broker ready on " in line
    )
    assert not _port_open(bootstrap), "the demo's broker is still running"


@pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server is needed for the hot cabinet (apt-get install redis-server)",
)
def test_the_hot_cabinet_shows_beside_the_shop_and_its_redis_stops_with_it(
    terminal: Terminal,
) -> None:
    terminal.start(_as_written(fishshop_words("fishshop demo --scenario hot-cabinet")))
    screen = terminal.wait_for(
        "the cabinet panel with a batch fried and an order served from the cabinet",
        lambda s: "Hot cabinet" in s and "▲ the cook fried" in s and "from the cabinet: " in s,
    )
    assert "hot-cabinet · OPEN · 3 tills · 2 preparers · 1 cook · 3 partitions" in screen
    assert "in the cabinet now" in screen and "fried to order" in screen
    assert "✓ fried = served + cabinet + set aside" in screen
    assert "Cook 1 · " in screen and "Preparer 2 · " in screen
    terminal.keys("q")
    screen = terminal.wait_for("the demo to exit", lambda s: EXITED in s, timeout=90)
    assert f"{EXITED}0" in screen, screen
    assert "Traceback" not in screen, screen
    assert "fishshop: cabinet cod " in screen and "fishshop: ✓ fried = served" in screen
    redis_url = next(
        line.split("Redis ready on ")[1].strip()
        for line in screen.splitlines()
        if "Redis ready on " in line
    )
    redis_port = redis_url.rsplit(":", 1)[1].split("/")[0]
    assert not _port_open(f"127.0.0.1:{redis_port}"), "the demo's Redis is still running"


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(child) for child in found.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_closing_the_terminal_closes_the_shop_and_stops_its_broker(terminal: Terminal) -> None:
    terminal.start(_as_written(fishshop_words("fishshop demo --scenario cook")))
    terminal.wait_for("orders served", lambda s: "✓ till " in s)
    shell = int(terminal.tmux("display", "-p", "#{pane_pid}"))
    (demo,) = _children(shell)
    (broker,) = _children(demo)  # the embedded broker: java
    terminal.close()  # the terminal goes away: SIGHUP
    deadline = time.monotonic() + 60
    while (_alive(demo) or _alive(broker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(broker), "the demo's broker outlived its terminal"
    assert not _alive(demo), "the demo outlived its terminal"


def test_a_shop_file_on_an_external_broker_and_ctrl_c_quits_cleanly(
    terminal: Terminal, kafka: KafkaSettings, shop_name: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "shop.yaml"
    manifest.write_text(f"""\
apiVersion: fishshop.dev/v1alpha1
kind: FishShop
metadata: {{name: {shop_name}}}
spec:
  partitions: 2
  tills: {{replicas: 2, ordersPerMinute: 120}}
  preparers: {{replicas: 1, prepSeconds: {{min: 0.1, max: 0.2}}}}
  cooks: {{replicas: 0}}
""")
    command = [sys.executable, "-m", "fishshop", "demo", "-f", str(manifest)]
    command += ["--bootstrap-servers", kafka.bootstrap_servers]
    terminal.start(shlex.join(command))
    screen = terminal.wait_for(
        "the preparer to own both partitions and serve both tills' orders",
        lambda s: "Preparer 1 · partitions 0, 1" in s and "p1 ✓ till " in s,
    )
    assert "Till 1 → partition 0" in screen and "Till 2 → partition 1" in screen
    assert "starting the embedded" not in screen
    terminal.keys("C-c")
    screen = terminal.wait_for("the demo to exit", lambda s: EXITED in s, timeout=60)
    assert f"{EXITED}0" in screen, screen
    assert "Traceback" not in screen, screen
    assert f"shop '{shop_name}' closed: " in screen
    assert _port_open(kafka.bootstrap_servers), "an external broker is not the demo's to stop"
