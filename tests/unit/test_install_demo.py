"""`make demo` installs what the embedded default needs when it is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-demo-deps.sh"


def _bare_path(tmp_path: Path, *tools: str) -> str:
    """A PATH with bash and the given tools only."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "id", *tools):
        found = shutil.which(tool)
        assert found, tool
        (folder / tool).symlink_to(found)
    return str(folder)


def _dry_run(path: str, postgres_root: Path | None = None) -> subprocess.CompletedProcess[str]:
    where = {"FISHSHOP_POSTGRES_ROOT": str(postgres_root)} if postgres_root else {}
    return subprocess.run(
        [shutil.which("bash") or "bash", str(SCRIPT), "--dry-run"],
        env={**os.environ, "PATH": path, **where},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_machine_without_java_or_redis_gets_both(tmp_path: Path) -> None:
    result = _dry_run(_bare_path(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "apt-get install openjdk-17-jre-headless redis-server" in result.stderr


def test_a_machine_without_postgresql_gets_it(tmp_path: Path) -> None:
    nothing = tmp_path / "no-postgresql"
    nothing.mkdir()
    result = _dry_run(_bare_path(tmp_path), postgres_root=nothing)
    assert result.returncode == 0, result.stderr
    assert "apt-get install openjdk-17-jre-headless redis-server postgresql" in result.stderr


def test_postgresql_where_debian_puts_it_is_found(tmp_path: Path) -> None:
    root = tmp_path / "postgresql"
    (root / "15" / "bin").mkdir(parents=True)
    (root / "15" / "bin" / "postgres").touch()
    result = _dry_run(_bare_path(tmp_path), postgres_root=root)
    assert "postgresql" not in result.stderr


def test_a_machine_with_both_installs_nothing(tmp_path: Path) -> None:
    if not (shutil.which("java") and shutil.which("redis-server")):
        raise AssertionError("make test installs java and redis-server first")
    result = _dry_run(_bare_path(tmp_path, "java", "redis-server"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_the_makefile_runs_it_before_the_demo() -> None:
    makefile = (SCRIPT.parents[1] / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "bash scripts/install-demo-deps.sh" in demo
