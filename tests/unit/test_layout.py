"""The package layout keeps the standard library's ``operator`` module reachable."""

from __future__ import annotations

import importlib
import sysconfig
from pathlib import Path


def test_operator_is_still_the_standard_library_module() -> None:
    module = importlib.import_module("operator")
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(module.__file__ or "").resolve().parent == stdlib
    assert module.itemgetter(1)([0, 1]) == 1


def test_the_operator_package_has_its_own_name() -> None:
    package = importlib.import_module("fishshop_operator")
    assert Path(package.__file__ or "").parent.parent.name == "operator"
