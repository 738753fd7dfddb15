"""Plug-in contract: every registered pass is one file, one class, one name, one test."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshc.registry import get_pass, pass_names

FILECHECK = Path(__file__).parents[1] / "filecheck" / "passes"


def test_builtin_passes_are_registered() -> None:
    assert {"partition-attn-mlp", "lower-quant", "tile-grain", "map-mesh"} <= set(pass_names())


@pytest.mark.parametrize("name", pass_names())
def test_pass_has_its_file_class_docstring_and_filecheck_test(name: str) -> None:
    cls = get_pass(name)
    assert cls.__module__ == f"meshc.passes.{name.replace('-', '_')}"
    assert cls.__name__ == "".join(p.capitalize() for p in name.split("-")) + "Pass"
    doc = (cls.__doc__ or "") + (__import__(cls.__module__, fromlist=["_"]).__doc__ or "")
    for part in ("Input", "Output", "Options", "Fails"):
        assert part in doc, f"{name}: docstring lacks '{part}'"
    assert (FILECHECK / f"{name}.mlir").is_file()


def test_the_context_and_the_universe_know_the_meshc_dialect() -> None:
    """The typed pass-state attributes parse wherever meshc's IR is read: meshc's context,
    `meshc opt`, and plain xdsl-opt through the universe entry point."""
    from xdsl.parser import Parser

    from meshc.ir.state import HardwareAttr
    from meshc.registry import make_context
    from meshc.universe import MESHC_UNIVERSE

    assert {"tfm", "tile", "meshc"} <= set(MESHC_UNIVERSE.all_dialects)
    m = Parser(make_context(), 'builtin.module attributes {meshc.hw = #meshc.hw<"a b/c.yaml">} {}'
               ).parse_module()
    assert m.attributes["meshc.hw"] == HardwareAttr("a b/c.yaml")
