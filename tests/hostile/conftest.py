"""The hostile suite forks a child per case: import meshc's modules once in the parent so
that a case costs milliseconds, not the second of imports a cold child would repeat."""

from __future__ import annotations

import contextlib
import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

WARM = ("meshc.cli", "meshc.commands.compile", "meshc.commands.model", "meshc.commands.opt",
        "meshc.commands.hw", "meshc.commands.files", "meshc.driver", "meshc.pipelines",
        "meshc.frontends.spec", "meshc.frontends.hf", "meshc.frontends.zoo",
        "meshc.frontends.mlir", "meshc.frontends.onnx", "meshc.hardware", "meshc.ir.summary",
        "meshc.mappers.heft", "ortools.sat.python.cp_model", "rich.console", "rich.table",
        "xdsl.xdsl_opt_main", "hypothesis")


@pytest.fixture(scope="session", autouse=True)
def _warm_meshc() -> None:
    # A module that fails to import (being edited right now) just stays cold.
    for name in WARM:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        from meshc import registry

        for name in registry.pass_names():
            registry.get_pass(name)
        for name in registry.backend_names():
            if name != "plots":  # matplotlib: only the runs that ask for plots pay for it
                registry.get_backend(name)
