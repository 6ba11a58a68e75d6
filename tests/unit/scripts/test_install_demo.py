"""`make demo` installs what the embedded default needs when it is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "install-demo-deps.sh"


def _bare_path(tmp_path: Path, *tools: str) -> str:
    """A PATH with bash and the given tools only."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "id", *tools):
        found = shutil.which(tool)
        assert found, tool
        (folder / tool).symlink_to(found)
    return str(folder)


def _fake(folder: Path, name: str, body: str) -> Path:
    """A stand-in program: a shell script with the given body."""
    tool = folder / name
    tool.write_text(f"#!/bin/sh\n{body}\n")
    tool.chmod(0o755)
    return tool


def _java(folder: Path, says: str) -> None:
    """A java that reports its version as ``java -version`` does, on stderr."""
    folder.mkdir(parents=True, exist_ok=True)
    _fake(folder, "java", f"echo '{says}' >&2")


def _run(
    path: str,
    *args: str,
    postgres_root: Path | None = None,
    java_home: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    # The caller's JAVA_HOME (set on CI runners) would hide the PATH under test.
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    if postgres_root:
        env["FISHSHOP_POSTGRES_ROOT"] = str(postgres_root)
    if java_home:
        env["JAVA_HOME"] = str(java_home)
    return subprocess.run(
        [shutil.which("bash") or "bash", str(SCRIPT), *args],
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )


def _dry_run(
    path: str, postgres_root: Path | None = None, java_home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return _run(path, "--dry-run", postgres_root=postgres_root, java_home=java_home)


def _with_postgres(tmp_path: Path) -> Path:
    root = tmp_path / "postgresql"
    (root / "16" / "bin").mkdir(parents=True)
    (root / "16" / "bin" / "postgres").touch()
    return root


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


def test_it_says_why_each_is_needed_and_a_dry_run_installs_nothing(tmp_path: Path) -> None:
    path = _bare_path(tmp_path)
    calls = tmp_path / "calls"
    _fake(tmp_path / "bin", "apt-get", f'echo "apt-get $*" >>{calls}')
    _fake(tmp_path / "bin", "sudo", f'echo "sudo $*" >>{calls}')
    nothing = tmp_path / "no-postgresql"
    nothing.mkdir()
    result = _dry_run(path, postgres_root=nothing)
    assert result.returncode == 0, result.stderr
    assert "needs Java 17 for the embedded Kafka broker (no java here)" in result.stderr
    assert "needs redis-server for the hot cabinet" in result.stderr
    assert "needs PostgreSQL for the analyst" in result.stderr
    assert "nothing was installed" in result.stderr
    assert not calls.exists()


def test_without_dry_run_it_installs_with_apt_get_and_says_so(tmp_path: Path) -> None:
    path = _bare_path(tmp_path)
    calls = tmp_path / "calls"
    _fake(tmp_path / "bin", "apt-get", f'echo "apt-get $*" >>{calls}')
    _fake(tmp_path / "bin", "sudo", f'echo "sudo" >>{calls}; exec "$@"')
    result = _run(path, postgres_root=_with_postgres(tmp_path))
    assert result.returncode == 0, result.stderr
    installs = [line for line in calls.read_text().splitlines() if "apt-get install" in line]
    assert installs == [
        "apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless redis-server"
    ]
    assert "demo: installed openjdk-17-jre-headless redis-server" in result.stderr


def test_a_java_older_than_17_gets_java_17(tmp_path: Path) -> None:
    path = _bare_path(tmp_path, "redis-server")
    _java(tmp_path / "bin", 'java version "1.8.0_392"')
    result = _dry_run(path, postgres_root=_with_postgres(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Java 8 here is too old" in result.stderr
    assert "apt-get install openjdk-17-jre-headless\n" in result.stderr


def test_java_17_or_newer_on_the_path_is_enough(tmp_path: Path) -> None:
    path = _bare_path(tmp_path, "redis-server")
    _java(tmp_path / "bin", 'openjdk version "21.0.5" 2024-10-15')
    result = _dry_run(path, postgres_root=_with_postgres(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_java_home_is_what_the_broker_runs(tmp_path: Path) -> None:
    """The broker takes $JAVA_HOME/bin/java before the PATH's java, so does the check."""
    path = _bare_path(tmp_path, "redis-server")
    _java(tmp_path / "bin", 'openjdk version "11.0.2" 2019-01-15')
    _java(tmp_path / "jdk" / "bin", 'openjdk version "17.0.15" 2025-04-15')
    result = _dry_run(path, postgres_root=_with_postgres(tmp_path), java_home=tmp_path / "jdk")
    assert result.stderr == ""
    old = _dry_run(path, postgres_root=_with_postgres(tmp_path / "again"))
    assert "Java 11 here is too old" in old.stderr


def test_each_scenario_gets_only_what_it_needs(tmp_path: Path) -> None:
    nothing = tmp_path / "no-postgresql"
    nothing.mkdir()
    path = _bare_path(tmp_path)
    wants = {
        "default": "apt-get install openjdk-17-jre-headless\n",
        "cook": "apt-get install openjdk-17-jre-headless\n",
        "hot-cabinet": "apt-get install openjdk-17-jre-headless redis-server\n",
        "analyst": "apt-get install openjdk-17-jre-headless postgresql\n",
    }
    for scenario, said in wants.items():
        result = _run(path, "--dry-run", scenario, postgres_root=nothing)
        assert result.returncode == 0, result.stderr
        assert said in result.stderr, (scenario, result.stderr)


def test_without_apt_get_it_says_what_to_install_by_hand(tmp_path: Path) -> None:
    path = _bare_path(tmp_path)
    nothing = tmp_path / "no-postgresql"
    nothing.mkdir()
    _fake(tmp_path / "bin", "uname", "echo Linux")
    linux = _run(path, "analyst", postgres_root=nothing)
    assert linux.returncode == 3
    assert "no apt-get here; install them with your package manager" in linux.stderr
    assert "Debian's names: openjdk-17-jre-headless postgresql" in linux.stderr
    (tmp_path / "bin" / "uname").unlink()
    _fake(tmp_path / "bin", "uname", "echo Darwin")
    mac = _run(path, "hot-cabinet", postgres_root=nothing)
    assert mac.returncode == 3
    assert "install them with Homebrew: brew install openjdk@17 redis" in mac.stderr


def test_make_demo_passes_its_scenario_to_both() -> None:
    makefile = (SCRIPT.parents[1] / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "install-demo-deps.sh $(if $(SCENARIO),$(SCENARIO),default)" in demo
    assert "fishshop demo $(if $(SCENARIO),--scenario $(SCENARIO))" in demo
