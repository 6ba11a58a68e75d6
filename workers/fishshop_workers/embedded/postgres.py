"""A local PostgreSQL for the analyst, owned by fishshop like the embedded broker.

It runs Debian's PostgreSQL binaries (``apt-get install postgresql``; any 13 or
newer) on a free loopback port with a cluster of its own, made on first start with
a random password (scram-sha-256, TCP on 127.0.0.1 only). PostgreSQL refuses to
run as root; as root, fishshop runs it in a user namespace of its own
(``unshare --user``), where it is an unprivileged user that still owns its files.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg

from fishshop_workers.embedded.kafka import free_port
from fishshop_workers.embedded.server import LocalServer
from fishshop_workers.errors import ServiceError

__all__ = ["EmbeddedPostgres", "PostgresStartError", "postgres_bin_dir"]

USER = "fishshop"
DATABASE = "fishshop"


class PostgresStartError(ServiceError, RuntimeError):
    """The local PostgreSQL did not start; the message says why and what to do."""


def postgres_bin_dir() -> Path:
    """The folder with ``initdb`` and ``postgres``: the newest under
    /usr/lib/postgresql, else the one on the PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("postgres")
    if found and shutil.which("initdb"):
        return Path(found).parent
    raise PostgresStartError(
        "PostgreSQL's server is needed to run the analyst locally: install it "
        "(Debian: apt-get install postgresql), or pass --postgres-url to use a "
        "PostgreSQL you already have."
    )


def _as_unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        raise PostgresStartError(
            "PostgreSQL does not run as root and `unshare` (util-linux) is missing: "
            "run fishshop as another user, or pass --postgres-url."
        )
    return [unshare, "--user", "--"]


class EmbeddedPostgres(LocalServer):
    """A PostgreSQL server on loopback with a cluster in ``data_dir/cluster``.

    ``start()`` makes the cluster on first use and waits until it takes
    connections; ``stop()`` is a fast shutdown (SIGINT: running transactions are
    rolled back, everything committed is kept); ``kill()`` is a crash, after which
    ``start()`` recovers from the write-ahead log.
    """

    title = "the local PostgreSQL"
    stop_signal = signal.SIGINT

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        super().__init__(data_dir, port or free_port())

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "cluster"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def password(self) -> str:
        return (self.data_dir / "password").read_text().strip()

    @property
    def url(self) -> str:
        """A libpq URL for the fishshop database (with its password)."""
        return self._url_for(DATABASE)

    def _make_cluster(self, bin_dir: Path) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password_file = self.data_dir / "password"
        password_file.write_text(secrets.token_urlsafe(18) + "\n")
        password_file.chmod(0o600)
        made = subprocess.run(  # noqa: S603
            [
                *_as_unprivileged(),
                str(bin_dir / "initdb"),
                "-D",
                str(self.cluster_dir),
                "-U",
                USER,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            shutil.rmtree(self.cluster_dir, ignore_errors=True)
            raise PostgresStartError(
                f"initdb failed: {(made.stderr or made.stdout).strip()[-1500:]}"
            )
        with (self.cluster_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# fishshop: loopback only, small, and logs where fishshop says\n"
                "listen_addresses = '127.0.0.1'\n"
                "shared_buffers = 32MB\n"
                "max_connections = 50\n"
                "fsync = on\n"
            )

    def start(self, timeout: float = 60.0) -> None:
        if self.running:
            return
        bin_dir = postgres_bin_dir()
        fresh = not (self.cluster_dir / "PG_VERSION").exists()
        if fresh:
            self._make_cluster(bin_dir)
        self._spawn(
            [
                *_as_unprivileged(),
                str(bin_dir / "postgres"),
                "-D",
                str(self.cluster_dir),
                "-p",
                str(self.port),
                "-k",
                str(self.data_dir),
                "-c",
                "log_destination=stderr",
            ],
            self.log_file,
        )
        self._wait_until(
            self._takes_connections,
            timeout,
            exited=(
                f"PostgreSQL exited at start (port {self.port} taken, or a damaged "
                f"cluster folder?); see {self.log_file}"
            ),
            late=f"PostgreSQL did not take connections within {timeout:.0f}s; see {self.log_file}",
            error=PostgresStartError,
        )
        self._create_database()

    def _takes_connections(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                pass
            with psycopg.connect(self._url_for("postgres"), connect_timeout=2):
                return True
        except (OSError, psycopg.OperationalError):
            return False

    def _url_for(self, database: str) -> str:
        return (
            f"postgresql://{USER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{database}"
        )

    def _create_database(self) -> None:
        with psycopg.connect(self._url_for("postgres"), autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{DATABASE}"')
