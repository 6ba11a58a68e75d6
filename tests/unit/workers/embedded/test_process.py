"""A child started with ``spawn_owned`` dies with its owner, however the owner dies,
and not before: the fork happens on a thread that lives as long as the child."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from fishshop_workers.embedded.process import spawn_owned
from tests.support.processes import wait_gone

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the tie uses Linux's PR_SET_PDEATHSIG"
)

OWNER = textwrap.dedent(
    """
    import subprocess, sys, threading, time
    from fishshop_workers.embedded.process import spawn_owned

    children = []
    # Started from a thread that ends at once: the child must still live on.
    starter = threading.Thread(target=lambda: children.append(spawn_owned(["sleep", "600"])))
    starter.start()
    starter.join()
    print(children[0].pid, flush=True)
    time.sleep(600)
    """
)


def test_the_child_dies_when_its_owner_is_killed_not_when_the_starting_thread_ends() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        child = int(owner.stdout.readline())
        assert not wait_gone(child, 1.0), "the child died with the thread that started it"
        owner.kill()
        owner.wait()
        assert wait_gone(child, 5.0), "the child outlived its owner"
    finally:
        owner.kill()
        owner.wait()


def test_the_popen_is_used_as_usual_from_any_thread() -> None:
    process = spawn_owned(["sh", "-c", "exit 7"], stdout=subprocess.PIPE)
    results: list[int] = []
    waiter = threading.Thread(target=lambda: results.append(process.wait()))
    waiter.start()
    waiter.join(10)
    assert results == [7]
    assert process.poll() == 7


def test_a_missing_program_raises_in_the_callers_thread() -> None:
    with pytest.raises(FileNotFoundError):
        spawn_owned(["/nonexistent/fishshop-java"])
