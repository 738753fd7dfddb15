"""IR text in: a `.mlir` file of `tfm` (or `tile`) ops."""

from __future__ import annotations

from pathlib import Path

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import DiagnosticException, ParseError

from meshc.errors import MeshcError, one_line
from meshc.registry import make_context


def load(path: Path) -> ModuleOp:
    from xdsl.parser import Parser

    try:
        module = Parser(make_context(), path.read_text(), str(path)).parse_module()
        module.verify()
    except ParseError as e:
        raise MeshcError(one_line(e)) from None
    except DiagnosticException as e:
        raise MeshcError(f"invalid IR: {one_line(e)}", file=str(path)) from None
    return module
