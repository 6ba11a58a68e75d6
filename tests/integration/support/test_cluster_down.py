"""`make cluster-down` stops everything `make cluster` started, and nothing else.

``up`` and ``down`` run in a folder of the test's own, and every check goes by the
pids recorded there (and by that folder in a process's arguments), so other
engineers' clusters on the same machine are never looked at or touched.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cluster import STOP_ORDER, down, up
from tests.support.stopping import command_line, group_members, is_running

PROC = Path("/proc")

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the control plane's pids are read from /proc"
)


def _mentioning(folder: Path) -> list[int]:
    """Running processes with ``folder`` in their arguments."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            argv = command_line(int(entry.name)) or []
            if any(str(folder) in argument for argument in argv) and is_running(int(entry.name)):
                found.append(int(entry.name))
    return found


def _wait(what: str, check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def fake_control_plane(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    """Three shell processes named like the control plane, started the way ``up``
    starts it (each in a session of its own, its pid in a file), each with a child
    in its process group. The "API server" ignores SIGTERM, as a busy one may."""
    folder = tmp_path / "cluster"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    folder.mkdir()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name in STOP_ORDER:
        (bin_dir / name).symlink_to("/bin/sh")
        deaf = "trap '' TERM; " if name == "kube-apiserver" else ""
        processes[name] = subprocess.Popen(
            [str(bin_dir / name), "-c", f"{deaf}sleep 600 & wait", name, f"--dir={folder}/x"],
            start_new_session=True,
        )
        (folder / f"{name}.pid").write_text(str(processes[name].pid))
    pids = {name: process.pid for name, process in processes.items()}
    for pid in pids.values():

        def child_started(leader: int = pid) -> bool:
            return len(group_members(leader)) == 2

        _wait("each process has started its child", child_started)
    yield folder, pids
    for process in processes.values():
        if process.poll() is None:
            process.kill()
        process.wait()


def test_down_stops_each_process_and_its_group_and_kills_one_that_ignores_sigterm(
    fake_control_plane: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, pids = fake_control_plane
    started = time.monotonic()
    assert down(folder, patience=2.0) == 0
    elapsed = time.monotonic() - started
    for name, pid in pids.items():
        assert not is_running(pid), name
        assert group_members(pid) == [], f"{name}'s child outlived it"
        assert not (folder / f"{name}.pid").exists()
    assert _mentioning(folder) == []
    assert 2.0 <= elapsed < 15.0  # waited for the deaf one, then killed it
    out = capsys.readouterr().out
    assert "stopped 3 control plane processes" in out
    assert "kube-apiserver (killed after 2s)" in out
    assert "etcd (killed" not in out


def test_down_leaves_a_process_alone_that_only_has_a_recorded_pid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pid file that outlived its process (a reboot, a crash) may name somebody
    else's process by now: that one is left running."""
    folder = tmp_path / "cluster"
    folder.mkdir()
    stranger = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        (folder / "kube-apiserver.pid").write_text(str(stranger.pid))
        (folder / "etcd.pid").write_text("not a pid\n")
        assert down(folder, patience=1.0) == 0
        assert stranger.poll() is None
        assert not (folder / "kube-apiserver.pid").exists()
        assert not (folder / "etcd.pid").exists()
        out = capsys.readouterr().out
        assert f"pid {stranger.pid}" in out
        assert "left alone" in out
        assert "stopped 0 control plane processes" in out
    finally:
        stranger.kill()
        stranger.wait()


@pytest.mark.slow
def test_cluster_down_stops_the_real_control_plane(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make cluster` then `make cluster-down`: etcd, kube-apiserver and
    kube-controller-manager of this run are all gone, none of them killed."""
    folder = tmp_path / "cluster"
    try:
        assert up(folder) == 0
        pids = {name: int((folder / f"{name}.pid").read_text()) for name in STOP_ORDER}
        assert all(is_running(pid) for pid in pids.values())
        assert sorted(_mentioning(folder)) == sorted(pids.values())
        assert down(folder) == 0
        for name, pid in pids.items():
            assert not is_running(pid), f"{name} ({pid}) still runs"
        assert _mentioning(folder) == []
        out = capsys.readouterr().out
        assert "stopped 3 control plane processes" in out
        assert "killed" not in out, out
    finally:
        down(folder, patience=5.0)
