"""Unit tests for tests.support.stopping.is_ours: which recorded pid is still ours."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stopping import is_ours

FOLDER = Path("/home/fish/.cache/fishshop/cluster")


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("etcd", ["/c/bin/etcd", "--name=fishshop", f"--data-dir={FOLDER}/etcd"]),
        ("kube-apiserver", ["/c/bin/kube-apiserver", f"--cert-dir={FOLDER}/pki"]),
        (
            "kube-controller-manager",
            ["/c/bin/kube-controller-manager", f"--kubeconfig={FOLDER}/kubeconfig"],
        ),
    ],
)
def test_the_processes_up_starts_are_ours(name: str, argv: list[str]) -> None:
    assert is_ours(argv, name, FOLDER)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        # Another engineer's cluster: same binary, another folder.
        ["/c/bin/kube-apiserver", "--cert-dir=/home/chips/.cache/fishshop/cluster/pki"],
        # A folder whose name only starts like ours.
        ["/c/bin/kube-apiserver", f"--cert-dir={FOLDER}-old/pki"],
        # Our folder, another program (the pid was reused).
        ["/usr/bin/less", f"{FOLDER}/logs/kube-apiserver.log"],
        # The right program name only as an argument.
        ["/bin/sh", "-c", "kube-apiserver", f"--cert-dir={FOLDER}/pki"],
        # The folder only in argv[0].
        [f"{FOLDER}/kube-apiserver"],
    ],
)
def test_anything_else_is_not_ours(argv: list[str]) -> None:
    assert not is_ours(argv, "kube-apiserver", FOLDER)
