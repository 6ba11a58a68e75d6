"""CI's workflows, checked here: every action pinned by a commit, every tool version
from scripts/versions.env (the one place kind-up.sh reads too), and actionlint, which
`make lint` runs, accepting the workflows and refusing a broken one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fishshop_workers.embedded.jars import KAFKA_VERSION

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
SCRIPTS = ROOT / "scripts"
VERSIONS_FILE = SCRIPTS / "versions.env"

# `uses: owner/repo[/path]@<40 hex> # vX.Y.Z`, the only form a workflow may take.
PINNED = re.compile(r"[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$", re.M)
TAG_COMMENT = re.compile(r"v\d+(?:\.\d+){0,2}\b")
VERSION_LITERAL = re.compile(r"\bv?\d+\.\d+\.\d+\b")
KAFKA_IMAGE = re.compile(r"image:\s*[\"']?(apache/kafka:\S+?)[\"']?\s*$", re.M)


def _versions() -> dict[str, str]:
    pairs = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


VERSIONS = _versions()


def _workflow(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), path
    return loaded


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _uses(path: Path) -> list[tuple[str, str | None]]:
    return [(m["ref"], m["comment"]) for m in USES_LINE.finditer(path.read_text())]


def test_there_is_a_workflow_on_every_push_and_pull_request() -> None:
    assert WORKFLOWS, "no workflow under .github/workflows"
    # YAML 1.1 reads the key `on` as True.
    triggers = [dict(_workflow(path).get(True) or {}) for path in WORKFLOWS]
    assert any("push" in t and "pull_request" in t for t in triggers), triggers


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_a_full_commit_sha_with_its_tag(path: Path) -> None:
    found = _uses(path)
    # Every `uses:` the YAML holds is one the line pattern saw (none quoted or hidden).
    workflow = _workflow(path)
    in_yaml = [s["uses"] for s in _steps(workflow) if "uses" in s]
    in_yaml += [job["uses"] for job in workflow["jobs"].values() if "uses" in job]
    assert sorted(ref for ref, _ in found) == sorted(in_yaml)
    assert found
    for ref, comment in found:
        assert PINNED.fullmatch(ref), f"{ref} is not pinned by a 40-character commit SHA"
        assert comment and TAG_COMMENT.match(comment), f"{ref} says no version: {comment!r}"


@pytest.mark.parametrize(
    "ref",
    [
        "actions/checkout@v7",
        "actions/checkout@v7.0.1",
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b",  # 39 characters
        "actions/checkout@main",
    ],
)
def test_the_pin_check_refuses_tags_branches_and_short_shas(ref: str) -> None:
    assert not PINNED.fullmatch(ref)


def test_the_versions_file_is_plain_key_value_lines_that_bash_reads_alike() -> None:
    for line in VERSIONS_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            # What $GITHUB_ENV takes as it is and bash sources without surprises.
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[^\s'\"$`\\]+", line), line
    keys = sorted(VERSIONS)
    script = f"source {VERSIONS_FILE}; " + " ".join(f'echo "${key}";' for key in keys)
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == [VERSIONS[key] for key in keys]
    for tool in ("KIND_VERSION", "KUBECTL_VERSION", "HELM_VERSION", "ACTIONLINT_VERSION"):
        assert re.fullmatch(r"v\d+\.\d+\.\d+", VERSIONS[tool]), tool


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_job_reads_the_versions_file_before_it_sets_anything_up(path: Path) -> None:
    for name, job in _workflow(path)["jobs"].items():
        runs = [step.get("run", "") for step in job.get("steps", [])]
        reads = [i for i, run in enumerate(runs) if "scripts/versions.env" in run]
        assert reads, f"job {name} does not read scripts/versions.env"
        assert '>>"$GITHUB_ENV"' in runs[reads[0]]
        uses_before = [s for s in job["steps"][: reads[0]] if "uses" in s]
        assert all(s["uses"].startswith("actions/checkout@") for s in uses_before), name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_workflow_states_no_version_of_its_own(path: Path) -> None:
    """kind, kubectl, helm and the rest come from scripts/versions.env: an env: entry
    may repeat one only with the same value, and no step names another version."""
    workflow = _workflow(path)
    envs = [workflow.get("env", {})]
    for job in workflow["jobs"].values():
        envs.append(job.get("env", {}))
        envs += [step.get("env", {}) for step in job.get("steps", [])]
    for env in envs:
        for key, value in env.items():
            if key in VERSIONS:
                assert str(value) == VERSIONS[key], key
    pinned_values = set(VERSIONS.values())
    for step in _steps(workflow):
        texts = [step.get("run", ""), *map(str, step.get("with", {}).values())]
        for text in texts:
            for literal in VERSION_LITERAL.findall(text):
                assert literal in pinned_values, f"{literal} in {step.get('name')!r}"


def test_the_kind_job_installs_its_tools_from_the_one_place_and_makes_the_shop() -> None:
    (ci,) = [p for p in WORKFLOWS if p.name == "ci.yml"]
    jobs = _workflow(ci)["jobs"]
    (kind,) = [job for job in jobs.values() if "kind-e2e" in str(job)]
    runs = [step.get("run", "") for step in kind["steps"]]
    assert any("scripts/install-kind-tools.sh" in run and "GITHUB_PATH" in run for run in runs)
    assert any("docker build" in run for run in runs)
    assert any("--config kind-config.yaml" in run and "$KIND_NODE_IMAGE" in run for run in runs)
    assert runs.index("make kind-up") < runs.index("make kind-e2e")
    assert kind["env"]["FISHSHOP_KIND_REDIS"] == "1"
    assert kind["env"]["FISHSHOP_KIND_ANALYST"] == "1"
    by_run = {step.get("run", step.get("uses", "")): step for step in kind["steps"]}
    assert by_run["make kind-down"]["if"] == "always()"
    collect = next(s for s in kind["steps"] if "scripts/kind-logs.sh" in s.get("run", ""))
    upload = next(s for s in kind["steps"] if "upload-artifact" in s.get("uses", ""))
    assert collect["if"] == upload["if"] == "failure()"
    (test,) = [job for name, job in jobs.items() if job is not kind]
    assert any(step.get("run") == "bash .ci/run" for step in test["steps"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_what_the_workflow_calls_exists_and_shellcheck_sees_it(path: Path) -> None:
    runs = "\n".join(step.get("run", "") for step in _steps(_workflow(path)))
    scripts = set(re.findall(r"\bscripts/([\w-]+\.sh)\b", runs))
    assert scripts
    for name in scripts:
        # `make lint` runs shellcheck on scripts/*.sh: these are among them.
        assert (SCRIPTS / name).is_file(), name
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"\bmake ([\w-]+)", runs)):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target


def test_the_scripts_read_their_versions_from_the_one_place() -> None:
    for name, used in {
        "kind-up.sh": ("$KIND_NODE_IMAGE", "$MONITORING_CHART_VERSION", "$KIND_VERSION"),
        "install-kind-tools.sh": ("$KIND_VERSION", "$KUBECTL_VERSION", "$HELM_VERSION"),
        "build-actionlint.sh": ("$ACTIONLINT_VERSION",),
    }.items():
        script = (SCRIPTS / name).read_text()
        assert "source" in script and "versions.env" in script, name
        for variable in used:
            assert variable in script, (name, variable)
    kind_up = (SCRIPTS / "kind-up.sh").read_text()
    assert '--image "$NODE_IMAGE"' in kind_up
    assert not re.search(r"kindest/node:|apache/kafka:|VERSION:-\d", kind_up)


def test_the_copies_that_cannot_read_the_file_agree_with_it() -> None:
    image, _, digest = VERSIONS["KIND_NODE_IMAGE"].partition("@")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), "the node image is pinned by digest"
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    assert {node["image"] for node in config["nodes"]} == {image}
    helm = (SCRIPTS / "build-helm.sh").read_text()
    assert f"FISHSHOP_HELM_VERSION:-{VERSIONS['HELM_VERSION']}}}" in helm
    # kubectl of the same release as the control plane the tests build.
    kube = (SCRIPTS / "build-kube.sh").read_text()
    assert f"FISHSHOP_KUBE_VERSION:-{VERSIONS['KUBECTL_VERSION']}}}" in kube


def test_kafka_in_kind_is_the_release_the_embedded_broker_runs() -> None:
    assert VERSIONS["KAFKA_IMAGE"] == f"apache/kafka:{KAFKA_VERSION}"
    images = {
        match
        for folder in ("manifests", "charts")
        for path in (ROOT / folder).rglob("*.yaml")
        for match in KAFKA_IMAGE.findall(path.read_text())
    }
    assert images == {VERSIONS["KAFKA_IMAGE"]}


def test_the_prometheus_kind_runs_here_is_the_one_built_here() -> None:
    """manifests/monitoring cannot read versions.env: its image and version must be the
    PROMETHEUS_VERSION that scripts/build-prometheus-operator.sh builds."""
    documents = yaml.safe_load_all((ROOT / "manifests/monitoring/prometheus.yaml").read_text())
    spec = next(d for d in documents if d["kind"] == "Prometheus")["spec"]
    version = VERSIONS["PROMETHEUS_VERSION"]
    assert spec["version"] == version
    assert spec["image"] == f"localhost/fishshop/prometheus:{version}"
    assert "$PROMETHEUS_VERSION" in (SCRIPTS / "kind" / "build-images.sh").read_text()
    assert "PROMETHEUS_OPERATOR_VERSION" in (SCRIPTS / "build-prometheus-operator.sh").read_text()


def test_make_lint_runs_actionlint_and_make_install_builds_it() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert '"$$(bash scripts/build-actionlint.sh)/actionlint"' in lint
    assert "shellcheck -x scripts/*.sh" in lint
    assert "build-actionlint.sh" in (SCRIPTS / "install-test-deps.sh").read_text()


def _actionlint() -> Path:
    cache = Path(os.environ.get("FISHSHOP_CACHE_DIR", Path.home() / ".cache" / "fishshop"))
    binary = cache / f"actionlint-{VERSIONS['ACTIONLINT_VERSION']}" / "bin" / "actionlint"
    if not binary.exists():
        pytest.skip(f"actionlint is not built ({binary}): `make install` or `make actionlint`")
    return binary


def _lint(actionlint: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    files = sorted(str(p) for p in (folder / ".github" / "workflows").glob("*.y*ml"))
    return subprocess.run(
        [str(actionlint), "-no-color", *files],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_actionlint_accepts_the_workflows() -> None:
    result = _lint(_actionlint(), ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


BREAKS = {
    # An unknown key where runs-on belongs: the job would never start.
    "a misspelt key": ("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04", "runs_on"),
    # An expression that reads a context that does not exist.
    "an unknown context": ("${{ env.PYTHON_VERSION }}", "${{ envs.PYTHON_VERSION }}", "envs"),
    # A job that waits for one that does not exist.
    "a missing job": ("timeout-minutes: 60", "timeout-minutes: 60\n    needs: [lint]", "lint"),
}


@pytest.mark.parametrize("why", BREAKS)
def test_actionlint_refuses_a_broken_copy(tmp_path: Path, why: str) -> None:
    actionlint = _actionlint()
    before, after, named = BREAKS[why]
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    ci = tmp_path / ".github" / "workflows" / "ci.yml"
    text = ci.read_text()
    assert before in text
    ci.write_text(text.replace(before, after, 1))
    result = _lint(actionlint, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ci.yml" in result.stdout and named in result.stdout, result.stdout


def test_actionlint_runs_shellcheck_on_the_workflows_scripts(tmp_path: Path) -> None:
    actionlint = _actionlint()
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (make install installs it)")
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    ci = tmp_path / ".github" / "workflows" / "ci.yml"
    text = ci.read_text()
    ci.write_text(text.replace('>>"$GITHUB_ENV"', ">>$GITHUB_ENV", 1))
    result = _lint(actionlint, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "shellcheck reported issue" in result.stdout and "SC2086" in result.stdout


# -- the release: image, chart and notes on a version tag only -------------------------

RELEASE = ROOT / ".github" / "workflows" / "release.yml"


def _release_steps() -> list[dict[str, Any]]:
    return _steps(_workflow(RELEASE))


def test_the_release_runs_on_version_tags_only_never_on_pull_requests() -> None:
    workflow = _workflow(RELEASE)
    triggers = workflow[True]  # YAML reads the key `on` as True
    assert set(triggers) == {"push"}
    assert triggers["push"] == {"tags": ["v*"]}
    (job,) = workflow["jobs"].values()
    assert "refs/tags/v" in job["if"]
    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"] == {"contents": "write", "packages": "write", "id-token": "write"}


def test_the_release_builds_both_architectures_with_an_sbom_and_signs_by_digest() -> None:
    steps = _release_steps()
    build = next(s for s in steps if s.get("uses", "").startswith("docker/build-push-action@"))
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["push"] is True and build["with"]["sbom"] is True
    assert build["with"]["tags"] == "${{ env.IMAGE }}:${{ env.VERSION }}"
    sign = next(s for s in steps if "cosign sign" in s.get("run", ""))
    assert sign["env"]["DIGEST"] == f"${{{{ steps.{build['id']}.outputs.digest }}}}"
    assert '"$IMAGE@$DIGEST"' in sign["run"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "helm push" in runs and "oci://ghcr.io/" in runs
    assert "scripts/release-notes.sh" in runs and "--notes-file release-notes.md" in runs


def _version() -> str:
    found = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert found
    return found.group(1)


def test_what_installs_by_default_is_what_the_release_publishes() -> None:
    from fishshop_operator.settings import DEFAULT_IMAGE

    values = yaml.safe_load((ROOT / "charts" / "fishshop" / "values.yaml").read_text())
    published = f"ghcr.io/fishshop/fishshop:{_version()}"  # ghcr.io/<the repository>
    assert f"{values['image']['repository']}:{_version()}" == published
    assert published == DEFAULT_IMAGE
    deployment = (ROOT / "manifests" / "operator" / "deployment.yaml").read_text()
    assert deployment.count(published) == 2  # the operator's image and the workers'


def test_the_release_notes_are_the_versions_changelog_section() -> None:
    run = subprocess.run(
        ["bash", str(SCRIPTS / "release-notes.sh"), f"v{_version()}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    changelog = (ROOT / "CHANGELOG.md").read_text()
    section = changelog.split(f"## {_version()}\n", 1)[1].split("\n## ", 1)[0]
    assert run.stdout.strip() == section.strip()


def test_the_release_refuses_a_tag_that_is_not_the_version(tmp_path: Path) -> None:
    wrong = subprocess.run(
        ["bash", str(SCRIPTS / "release-notes.sh"), "v9.9.9"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert wrong.returncode == 1
    assert f"the tag says 9.9.9 but pyproject.toml says {_version()}" in wrong.stderr
    # The version everywhere, but no section for it in the changelog.
    for name in ("scripts/release-notes.sh", "pyproject.toml", "charts/fishshop/Chart.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n\n- more fish\n")
    missing = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "release-notes.sh"), _version()],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode == 1
    assert f"no section '## {_version()}'; rename '## Unreleased' to it" in missing.stderr
