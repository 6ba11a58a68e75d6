"""A local redis-server for the hot cabinet, owned by fishshop like the embedded broker.

It runs Debian's ``redis-server`` (any Redis 7) on a free loopback port with a data
folder of its own. Persistence is on, an append-only file synced at every write
(``appendfsync always``): a decision Redis acknowledged survives a SIGKILL of
Redis, which is what the cabinet's exactly-once rests on. The process is started
with the broker's ``spawn_owned``, so it dies with whoever started it.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from fishshop_workers.embedded.kafka import free_port
from fishshop_workers.embedded.server import LocalServer
from fishshop_workers.errors import ServiceError

__all__ = ["EmbeddedRedis", "RedisStartError", "redis_server_executable"]


class RedisStartError(ServiceError, RuntimeError):
    """The local Redis did not start; the message says why and what to do."""


def redis_server_executable() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise RedisStartError(
            "redis-server is needed to run the hot cabinet locally: install it "
            "(Debian: apt-get install redis-server), or pass --redis-url to use a "
            "Redis you already have."
        )
    return found


def _quoted(value: str | Path) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


class EmbeddedRedis(LocalServer):
    """A redis-server process on loopback with persistence on.

    ``start()`` waits until it answers PING (after loading its data); ``stop()``
    shuts it down; ``kill()`` is a crash; ``start()`` again (or ``restart()``)
    brings it back on the same port and data.
    """

    def __init__(self, data_dir: Path, port: int | None = None, *, password: str | None = None):
        super().__init__(data_dir, port or free_port())
        self.password = password

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "redis.log"

    def config(self) -> str:
        lines = [
            "bind 127.0.0.1",
            f"port {self.port}",
            "protected-mode yes",
            # In the foreground: the process is ours to watch and to stop.
            "daemonize no",
            f"dir {_quoted(self.data_dir)}",
            f"logfile {_quoted(self.log_file)}",
            "appendonly yes",
            "appendfsync always",
            # The append-only file is the durable copy; no snapshots forked beside it.
            'save ""',
        ]
        if self.password is not None:
            lines.append(f"requirepass {_quoted(self.password)}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 15.0) -> None:
        if self.running:
            return
        executable = redis_server_executable()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "redis.conf"
        config.write_text(self.config())
        self._spawn([executable, str(config)], self.data_dir / "redis.out")
        self._wait_until(
            self._answers_ping,
            timeout,
            exited=(
                f"redis-server exited at start (port {self.port} taken, or a damaged "
                f"data folder?); see {self.log_file} and {self.data_dir / 'redis.out'}"
            ),
            late=f"redis-server did not answer within {timeout:.0f}s; see {self.log_file}",
            error=RedisStartError,
            interval=0.05,
        )

    def _answers_ping(self) -> bool:
        request = b""
        if self.password is not None:
            secret = self.password.encode()
            request += b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(secret), secret)
        request += b"*1\r\n$4\r\nPING\r\n"
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(request)
                reply = b""
                while b"PONG" not in reply and b"-" not in reply and len(reply) < 4096:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
        except OSError:
            return False
        # While it loads its data Redis answers -LOADING: not ready yet.
        return reply.endswith(b"+PONG\r\n")

    def stop(self, timeout: float = 15.0) -> None:
        """Shut down in order (Redis syncs its append-only file)."""
        super().stop(timeout)
