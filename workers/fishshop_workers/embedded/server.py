"""One way to run a local server that fishshop owns: Kafka, Connect, Redis, PostgreSQL.

A ``LocalServer`` is a child process on loopback with a data folder of its own.
It is started with ``spawn_owned`` (it dies with whoever started it, even after a
SIGKILL), waited for until it serves, stopped in order (a signal, a bounded wait,
then SIGKILL), killed as a crash would, and started again on the same port and
data. Each server says how it starts (its command line) and how it is known to
serve; the rest lives here once.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

from fishshop_workers.embedded.process import spawn_owned

__all__ = ["LocalServer"]


class LocalServer:
    """The process side of an embedded server; subclasses add what it serves."""

    #: What the server is called in errors ("the embedded Kafka broker").
    title = "the local server"
    #: The signal that asks it to shut down in order.
    stop_signal = signal.SIGTERM

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data_dir={self.data_dir!r}, port={self.port})"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process while it runs."""
        return self._process.pid if self.running and self._process else None

    def _spawn(self, command: Sequence[str], output: Path, **options: Any) -> None:
        """Start ``command`` with stdout and stderr appended to ``output``."""
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("ab") as stream:
            self._process = spawn_owned(
                command,
                stdout=stream,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C in a terminal reaches fishshop, which
                # stops the server in order, not the server directly.
                start_new_session=True,
                **options,
            )

    def _wait_until(
        self,
        serves: Callable[[], bool],
        timeout: float,
        *,
        exited: str,
        late: str,
        error: type[Exception],
        interval: float = 0.1,
    ) -> None:
        """Wait until ``serves()``; on exit or timeout stop it and raise ``error``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise error(exited)
            if serves():
                return
            time.sleep(interval)
        self.kill()
        raise error(late)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down in order; SIGKILL if that takes longer than ``timeout``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(self.stop_signal)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Stop abruptly, as a crash would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def wait(self) -> int | None:
        """Block until the server exits; its exit code."""
        process = self._process
        return None if process is None else process.wait()

    def start(self) -> None:  # pragma: no cover - every server defines it
        raise NotImplementedError

    def restart(self) -> None:
        """Stop in order and start again on the same port and data."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
