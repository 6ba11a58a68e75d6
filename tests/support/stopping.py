"""Stop a process that another Python process started detached (``make cluster``).

``make cluster-down`` runs in a new process: the control plane is not its child, so
it cannot ``wait()`` for it. It finds each process by the pid ``make cluster``
recorded, makes sure that pid is still that process (a pid file outlives a reboot,
and pids are reused), then asks it to stop, watches it go, and kills what stays.

Linux only (``/proc``), like the control plane the tests build.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["command_line", "group_members", "is_ours", "is_running", "stop_process_group"]

PROC = Path("/proc")


def command_line(pid: int) -> list[str] | None:
    """The process's argv, or None when no process has that pid."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_ours(argv: list[str], name: str, folder: Path) -> bool:
    """Whether ``argv`` is the ``name`` binary started for the control plane in ``folder``.

    Every process the cluster starts names its state folder in an option (etcd's
    data dir, the API server's certificates, the controller manager's kubeconfig),
    so another engineer's cluster, or an unrelated process that got the same pid,
    never matches.
    """
    if not argv or Path(argv[0]).name != name:
        return False
    markers = {str(folder) + os.sep, str(folder.resolve()) + os.sep}
    return any(marker in argument for argument in argv[1:] for marker in markers)


def is_running(pid: int) -> bool:
    """True while ``pid`` runs; an exited child not yet reaped (a zombie) has stopped."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state follows the command name in parentheses, which may hold spaces.
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in {"Z", "X"}


def _wait_until(gone: Callable[[], bool], patience: float) -> bool:
    """Poll ``gone`` until it is true (True) or ``patience`` seconds pass (False)."""
    deadline = time.monotonic() + patience
    while not gone():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _wait_stopped(pid: int, patience: float) -> bool:
    return _wait_until(lambda: not is_running(pid), patience)


def _send(pid: int, group: int | None, signum: signal.Signals) -> None:
    try:
        if group is not None:
            os.killpg(group, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        pass


def stop_process_group(pid: int, patience: float) -> bool:
    """SIGTERM ``pid`` (and its process group when it leads one), wait up to
    ``patience`` seconds for it to exit, then SIGKILL the group.

    Returns True when it stopped by itself, False when it had to be killed. Whatever
    is left in its group once it has gone is killed too: nothing it started outlives it.
    """
    try:
        group: int | None = pid if os.getpgid(pid) == pid else None
    except ProcessLookupError:
        return True
    _send(pid, group, signal.SIGTERM)
    polite = _wait_stopped(pid, patience)
    if polite and group is None:
        return True
    _send(pid, group, signal.SIGKILL)  # the group's leftovers, or the process itself
    if not _wait_stopped(pid, 10.0):
        raise RuntimeError(f"process {pid} survived SIGKILL")
    if group is not None and not _wait_group_gone(group, 10.0):
        # A SIGKILL is delivered, not obeyed at once: on a busy machine a member may
        # still show as running for a moment after it was sent.
        raise RuntimeError(f"process group {group} survived SIGKILL")
    return polite


def group_members(group: int) -> list[int]:
    """Running processes whose process group is ``group``."""
    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group and fields[0] not in {"Z", "X"}:
            members.append(int(entry.name))
    return members


def _wait_group_gone(group: int, patience: float) -> bool:
    return _wait_until(lambda: not group_members(group), patience)
