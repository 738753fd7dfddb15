"""Dependency rules of meshc.mappers: OR-Tools only under cpsat/, no xDSL at all."""

from __future__ import annotations

import ast
from pathlib import Path

import meshc.mappers
from meshc.mappers.cpsat.families import FAMILIES
from meshc.mappers.options import FAMILIES as OPTION_FAMILIES

ROOT = Path(meshc.mappers.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_ortools_only_in_cpsat_and_no_xdsl() -> None:
    for path in sorted(ROOT.rglob("*.py")):
        used = _imports(path)
        assert "xdsl" not in used, path
        if "cpsat" not in path.relative_to(ROOT).parts:
            assert "ortools" not in used, path


def test_option_families_match_the_model() -> None:
    assert set(OPTION_FAMILIES) == set(FAMILIES)
