"""lower-collectives records what crosses chips on the function; `recorded` reads it back
and refuses a malformed record."""

from __future__ import annotations

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, IntegerAttr, StringAttr
from xdsl.parser import Parser

from meshc import pipelines
from meshc.errors import MeshcError
from meshc.passes.lower_collectives import ATTR_COLLECTIVES, Recorded, recorded
from meshc.registry import make_context

IR = """
func.func @decode(%0: tensor<2x1x64xbf16>) -> tensor<2x1x128xbf16> {
  %1 = tfm.collective all_reduce %0 chips 2 layer 3 mlp : tensor<2x1x64xbf16> -> tensor<2x1x64xbf16>
  %2 = tfm.collective all_reduce %1 chips 2 layer 3 mlp : tensor<2x1x64xbf16> -> tensor<2x1x64xbf16>
  %3 = tfm.collective all_gather %2 chips 2 layer -1 other : tensor<2x1x64xbf16> -> tensor<2x1x128xbf16>
  func.return %3 : tensor<2x1x128xbf16>
}
"""


def _lowered() -> func.FuncOp:
    m = Parser(make_context(), IR).parse_module()
    pipelines.apply(m, "lower-collectives")
    f = next(op for op in m.ops if isinstance(op, func.FuncOp))
    return f


def test_records_in_program_order_with_numbered_labels() -> None:
    f = _lowered()
    assert recorded(f) == (
        Recorded("all_reduce", "L3.mlp.all_reduce0", 2, 256, 3, "mlp"),
        Recorded("all_reduce", "L3.mlp.all_reduce1", 2, 256, 3, "mlp"),
        Recorded("all_gather", "other.all_gather0", 2, 512, -1, "other"))
    assert [str(t) for t in f.function_type.outputs.data] == ["tensor<2x1x64xbf16>"]


def test_a_function_without_collectives_records_none() -> None:
    m = Parser(make_context(), IR).parse_module()  # not lowered
    f = next(op for op in m.ops if isinstance(op, func.FuncOp))
    assert recorded(f) == ()


@pytest.mark.parametrize("bad", [
    StringAttr("x"),
    ArrayAttr([DictionaryAttr({"kind": StringAttr("all_reduce")})]),
    ArrayAttr([DictionaryAttr({"kind": StringAttr("broadcast"), "label": StringAttr("a"),
                               "chips": IntegerAttr(2, 64), "bytes": IntegerAttr(1, 64),
                               "layer": IntegerAttr(0, 64), "block": StringAttr("mlp")})]),
])
def test_a_malformed_record_is_refused(bad: ArrayAttr | StringAttr) -> None:
    f = _lowered()
    f.attributes[ATTR_COLLECTIVES] = bad
    with pytest.raises(MeshcError, match=ATTR_COLLECTIVES):
        recorded(f)


def test_the_roles_of_steps_are_the_roles_of_chip_groups() -> None:
    """split-stages' #meshc<role ...> and the system YAML's chip roles are one vocabulary."""
    from typing import get_args

    from meshc.hardware.system import Role as YamlRole
    from meshc.ir.state import Role

    assert {r.value for r in Role} == set(get_args(YamlRole))
