"""Kafka's Java programs as child processes that die with whoever started them.

A broker left running by a crashed ``fishshop broker`` or ``fishshop demo`` holds
its port, its data folder and half a gigabyte, and the next start on that folder
fails. On Linux the child asks the kernel for SIGKILL when its parent goes
(``PR_SET_PDEATHSIG``). The kernel sends it when the *thread* that forked the
child ends, not the process, so the fork happens on a keeper thread that waits for
the child and ends only after it: the child dies when this process dies, however
it dies (SIGKILL included), and never earlier. Elsewhere the child is not tied.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fishshop_workers.errors import ServiceError

__all__ = ["BrokerStartError", "java_command", "java_executable", "spawn_owned"]

PR_SET_PDEATHSIG = 1


class BrokerStartError(ServiceError, RuntimeError):
    """The embedded broker did not start; the message says why and what to do."""


def java_executable() -> str:
    """``$JAVA_HOME/bin/java``, else ``java`` on the PATH."""
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


def java_command(
    libs: Path,
    main: str,
    *args: str,
    heap_mb: int,
    logs_dir: Path,
    log_config: Path,
) -> list[str]:
    """The command line that runs ``main`` from Kafka's jars in ``libs``."""
    return [
        java_executable(),
        f"-Xmx{heap_mb}m",
        f"-Xms{heap_mb}m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={logs_dir}",
        f"-Dlog4j2.configurationFile={log_config}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def spawn_owned(command: Sequence[str], **popen_options: Any) -> subprocess.Popen[bytes]:
    """Start ``command`` as a child that cannot outlive this process (on Linux).

    ``popen_options`` go to ``subprocess.Popen`` (``preexec_fn`` is taken). The
    returned Popen is used as usual: wait, poll, signal.
    """
    started = threading.Event()
    outcome: list[subprocess.Popen[bytes] | BaseException] = []

    def keep() -> None:
        process = None
        try:
            process = subprocess.Popen(  # noqa: S603
                list(command), preexec_fn=_tie_to_owner(), **popen_options
            )
            outcome.append(process)
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            # raised again in the caller's thread
            outcome.append(error)
        finally:
            started.set()
        if process is not None:
            # This thread is the child's parent as the kernel sees it: it must
            # live exactly as long as the child, so it waits for it.
            process.wait()

    keeper = threading.Thread(target=keep, name=f"keeper:{Path(command[0]).name}", daemon=True)
    keeper.start()
    started.wait()
    result = outcome[0] if outcome else BrokerStartError(f"could not start {command[0]}")
    if isinstance(result, BaseException):
        raise result
    return result


def _tie_to_owner() -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks for SIGKILL when the forking thread ends."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    owner = os.getpid()

    def tie() -> None:
        # Runs in the child between fork and exec: nothing here may allocate much
        # or take a lock, hence prctl resolved above.
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != owner:
            # The owner died before the tie was made: nobody will send the signal.
            os._exit(1)

    return tie
