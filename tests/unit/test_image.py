"""The container image, checked without Docker: the Dockerfile's promises, the build
context that .dockerignore lets through, and the kind script building from it."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_base_image_is_a_pinned_slim_python() -> None:
    (base,) = [rest for word, rest in _instructions() if word == "ARG" and "PYTHON_IMAGE" in rest]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm", base), base
    froms = [rest for word, rest in _instructions() if word == "FROM"]
    assert all(f.startswith("${PYTHON_IMAGE}") for f in froms)


def test_the_image_runs_as_a_non_root_user_with_fishshop_as_entrypoint() -> None:
    instructions = _instructions()
    users = [rest for word, rest in instructions if word == "USER"]
    assert users == ["10001:10001"]
    assert ("ENTRYPOINT", '["fishshop"]') in instructions
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    assert any(word == "USER" for word, _ in instructions[last_from:])


def _matches(relative: str, pattern: str) -> bool:
    if pattern.startswith("**/"):
        return any(fnmatch.fnmatch(part, pattern[3:]) for part in relative.split("/"))
    return fnmatch.fnmatch(relative, pattern) or relative.startswith(pattern + "/")


def _context() -> list[Path]:
    """The files `docker build .` would send, by the rules in .dockerignore."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = []
    for path in ROOT.rglob("*"):
        if not path.is_file() or ".git" in path.parts:
            continue
        relative = path.relative_to(ROOT).as_posix()
        included = True
        for rule in rules:
            if _matches(relative, rule.lstrip("!").rstrip("/")):
                included = rule.startswith("!")
        if included:
            files.append(path)
    return files


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    tops = {p.relative_to(ROOT).parts[0] for p in _context()}
    assert tops == {"pyproject.toml", "README.md", "workers", "operator", "cli"}
    assert not any("__pycache__" in p.parts for p in _context())


def test_the_build_stage_makes_a_wheel_from_that_context(tmp_path: Path) -> None:
    """What the Dockerfile's `pip wheel .` does, on exactly the files it gets."""
    context = tmp_path / "context"
    for path in _context():
        target = context / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "wheels"), str(context)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "wheels").glob("fishshop-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "fishshop_workers/embedded/locks/kafka/kafka-jars.lock" in names
    # The kind path's Connect gets its sink plugin from the image (connect --install-plugin).
    assert "fishshop_workers/embedded/locks/jdbc-sink/jdbc-sink-jars.lock" in names
    assert "fishshop_operator/reconcile/reconciler.py" in names
    assert "fishshop/main.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "fishshop = fishshop.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_kind_builds_the_image_from_the_dockerfile_and_nowhere_else() -> None:
    script = (ROOT / "scripts" / "kind-up.sh").read_text()
    # One Dockerfile for both sources of images: the registries' Python, or Debian's
    # made here (scripts/kind/build-images.sh) through the Dockerfile's PYTHON_IMAGE.
    assert '"$ENGINE" build --tag "$IMAGE" .' in script
    assert '--build-arg PYTHON_IMAGE=localhost/fishshop/python:3.11 --tag "$IMAGE" .' in script
    assert "pip install" not in script
    assert 'kind load docker-image "$1"' in script
    assert 'kind load image-archive "$archive"' in script
    config = (ROOT / "kind-config.yaml").read_text()
    assert "hostPort: 3000" in config
