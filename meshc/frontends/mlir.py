"""IR text in: a `.mlir` file of `tfm` (or `tile`) ops."""

from __future__ import annotations

from pathlib import Path

from xdsl.dialects.builtin import ModuleOp, ShapedType
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute
from xdsl.utils.exceptions import DiagnosticException, ParseError

from meshc import limits
from meshc.errors import MeshcError, one_line
from meshc.frontends.builder import check_elements
from meshc.inputs import read_text
from meshc.registry import make_context


def load(path: Path) -> ModuleOp:
    from xdsl.parser import Parser

    file = str(path)
    text = read_text(path, what="IR file")
    try:
        module = Parser(make_context(), text, file).parse_module()
        module.verify()
        _check_shapes(module)
    except ParseError as e:
        # one_line gives `file:line:col: message`; a diagnostic without a span lacks the file
        line = one_line(e)
        raise MeshcError(line if line.startswith(file) else f"{file}: {line}") from None
    except DiagnosticException as e:
        raise MeshcError(f"invalid IR: {one_line(e)}", file=file) from None
    except MeshcError as e:
        raise e.located(file=file) from None
    except RecursionError:  # xDSL's parser and walkers recurse once per nested region
        raise MeshcError("nested too deeply to read", file=file) from None
    # A module without a function would compile to an empty report: a silent wrong result.
    if not any(isinstance(op, FuncOp) for op in module.ops):
        raise MeshcError("the module has no function: nothing to compile", file=file,
                         hint="a model is one func.func per phase: prefill, decode")
    return module


def _check_shapes(module: ModuleOp) -> None:
    """Refuses a tensor with a dimension or element count over `--limit dim` (xDSL reads
    tensor<99999999999999999999xbf16> happily; int64 cost arithmetic would not)."""
    for op in module.walk():
        values: list[tuple[str, Attribute]] = [(f"a result of {op.name}", r.type)
                                               for r in op.results]
        values += [(f"an argument of {op.name}", a.type)
                   for region in op.regions for block in region.blocks for a in block.args]
        for what, t in values:
            if isinstance(t, ShapedType):
                shape = tuple(t.get_shape())
                for d in shape:
                    if d > limits.get("dim"):
                        raise limits.refuse("dim", d, f"{what} has a dimension of {d:,}")
                check_elements(shape, what)
