"""Fetch the Apache Kafka jars named in ``kafka-jars.lock`` into the cache.

Each jar is taken from the local Maven repository when it is already there,
otherwise downloaded from Maven Central (or the mirror in
``FISHSHOP_MAVEN_REPOSITORY``), and always checked against its pinned SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple, TextIO

from fishshop_workers.errors import ServiceError

__all__ = [
    "KAFKA_VERSION",
    "BrokerFetchError",
    "Jar",
    "cache_root",
    "ensure_jars",
    "read_lock",
]

KAFKA_VERSION = "4.2.1"
MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"
LOCK_FILE = Path(__file__).parent / "locks" / "kafka" / "kafka-jars.lock"


class BrokerFetchError(ServiceError, RuntimeError):
    """The broker's jars could not be fetched; the message says what to do."""


class Jar(NamedTuple):
    """One pinned artifact."""

    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def repository_path(self) -> str:
        return "/".join([*self.group.split("."), self.artifact, self.version, self.file_name])


def read_lock(text: str) -> list[Jar]:
    """Parse lock-file lines ``group:artifact:version sha256``."""
    jars = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        coordinates, digest = line.split()
        group, artifact, version = coordinates.split(":")
        jars.append(Jar(group, artifact, version, digest))
    return jars


def cache_root() -> Path:
    """Where fishshop keeps what it fetches: ``$FISHSHOP_CACHE_DIR`` or ~/.cache."""
    configured = os.environ.get("FISHSHOP_CACHE_DIR")
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fishshop"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_one(jar: Jar, target_dir: Path, repository: str) -> int:
    target = target_dir / jar.file_name
    if target.exists() and _sha256(target) == jar.sha256:
        return target.stat().st_size
    local = Path.home() / ".m2" / "repository" / jar.repository_path
    with tempfile.NamedTemporaryFile(dir=target_dir, delete=False) as part:
        part_path = Path(part.name)
        if local.exists():
            with local.open("rb") as source:
                shutil.copyfileobj(source, part)
        else:
            url = f"{repository.rstrip('/')}/{jar.repository_path}"
            try:
                with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
                    shutil.copyfileobj(response, part)
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                part_path.unlink(missing_ok=True)
                raise BrokerFetchError(
                    f"could not download {url}: {error}. Check the network, or set "
                    "FISHSHOP_MAVEN_REPOSITORY to a Maven Central mirror."
                ) from error
    if _sha256(part_path) != jar.sha256:
        part_path.unlink(missing_ok=True)
        raise BrokerFetchError(
            f"{jar.file_name} does not match its pinned checksum; "
            "delete the cache and retry, or check your Maven mirror"
        )
    part_path.replace(target)
    return target.stat().st_size


def ensure_jars(
    progress: TextIO | None = sys.stderr,
    repository: str | None = None,
    lock_text: str | None = None,
    *,
    lock_file: Path = LOCK_FILE,
    folder: str = f"kafka-{KAFKA_VERSION}/libs",
    title: str = f"Apache Kafka {KAFKA_VERSION}",
    root: Path | None = None,
) -> Path:
    """Return the folder holding every pinned jar, fetching what is missing.

    By default these are Kafka's own jars (broker, tools, Connect runtime); another
    ``lock_file`` fetches another set (a Connect plugin) into ``folder`` of the cache.
    """
    jars = read_lock(lock_text if lock_text is not None else lock_file.read_text())
    target_dir = (root or cache_root()) / folder
    marker = target_dir / ".complete"
    if marker.exists() and marker.read_text() == _lock_digest(jars):
        return target_dir
    target_dir.mkdir(parents=True, exist_ok=True)
    repo = repository or os.environ.get("FISHSHOP_MAVEN_REPOSITORY", MAVEN_CENTRAL)
    report = _progress_reporter(progress, len(jars), title)
    done = 0
    fetched = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for size in pool.map(lambda jar: _fetch_one(jar, target_dir, repo), jars):
            done += 1
            fetched += size
            report(done, fetched)
    wanted = {jar.file_name for jar in jars}
    for stale in target_dir.glob("*.jar"):
        if stale.name not in wanted:
            stale.unlink()
    marker.write_text(_lock_digest(jars))
    return target_dir


def _lock_digest(jars: list[Jar]) -> str:
    return hashlib.sha256("\n".join(j.sha256 for j in jars).encode()).hexdigest()


def _progress_reporter(stream: TextIO | None, total: int, title: str) -> Callable[[int, int], None]:
    if stream is None:
        return lambda done, size: None
    stream.write(
        f"fishshop: fetching {title} ({total} jars) into {cache_root()} (first run only)\n"
    )

    live = stream.isatty()
    step = max(1, total // 4)

    def report(done: int, size: int) -> None:
        if not live and done % step and done != total:
            return  # a log gets a few lines, a terminal a live counter
        end = "\n" if done == total or not live else "\r"
        stream.write(f"  {done}/{total} jars, {size / 1e6:.1f} MB{end}")
        stream.flush()

    return report
