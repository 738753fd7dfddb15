"""`tfm` ops that work element by element or along the feature axis: softmax, rope, the
norms, the activation, add and multiply. Part of the `tfm` dialect (meshc/ir/graph.py
registers them)."""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import (
    StringAttr,
    TensorType,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    prop_def,
    result_def,
)
from xdsl.utils.exceptions import VerifyException

from meshc.hardware.op_costs import OP_COSTS, vector_ops
from meshc.ir._graph_base import _LB, _shape
from meshc.ir._graph_base import Block as Block
from meshc.ir._graph_base import BlockAttr as BlockAttr
from meshc.ir._graph_base import GraphOp as GraphOp
from meshc.ir.graph_data import ConcatOp as ConcatOp
from meshc.ir.graph_data import DequantizeOp as DequantizeOp
from meshc.ir.graph_data import GenericOp as GenericOp
from meshc.ir.graph_data import KvAppendOp as KvAppendOp
from meshc.ir.graph_data import KvReadOp as KvReadOp
from meshc.ir.graph_data import QuantizeOp as QuantizeOp
from meshc.ir.graph_data import SliceOp as SliceOp
from meshc.ir.work import (
    ACTIVATION_OPS,
    Work,
    numel,
)


class _Unary(GraphOp):
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    result = result_def(T)
    assembly_format = "$input " + _LB + " `:` type($result)"
    OPS_PER_ELEMENT: ClassVar[tuple[int, int]] = (1, 0)

    def work(self) -> Work:
        n = numel(self.result.type)
        plain, trans = self.OPS_PER_ELEMENT
        return self._io() + Work(vector_ops=n * plain, transcendental_ops=n * trans)


@irdl_op_definition
class SoftmaxOp(_Unary):
    """Softmax over the last axis."""

    name = "tfm.softmax"
    OPS_PER_ELEMENT: ClassVar[tuple[int, int]] = OP_COSTS["softmax"]


@irdl_op_definition
class RopeOp(_Unary):
    """Rotary position embedding (cos/sin tables precomputed): 2 mul + 1 add per element."""

    name = "tfm.rope"
    OPS_PER_ELEMENT: ClassVar[tuple[int, int]] = OP_COSTS["rope"]


class _Norm(GraphOp):
    """A norm: its input, then its parameters, and one result. The subclasses define the
    operands (IRDL orders them by the class that defines them, so `input` cannot live here):
    this base reads them by position."""

    KIND: ClassVar[str]  # its entry in hardware/op_costs.py (per element, and per row)

    def _input_shape(self) -> tuple[int, ...]:
        return _shape(self.operands[0].type)

    def verify_shapes(self) -> None:
        if not self._input_shape():
            raise VerifyException("a norm needs an input of rank >= 1")
        width = self._input_shape()[-1]
        for p in self.params():
            if _shape(p.type) != (width,):
                raise VerifyException(f"norm parameter {_shape(p.type)} must be ({width},)")

    def params(self) -> list[SSAValue]:
        return list(self.operands[1:])

    def work(self) -> Work:
        n = numel(self.results[0].type)
        rows = n // self._input_shape()[-1]
        plain, trans = vector_ops(self.KIND, n, rows)
        return self._io() + Work(vector_ops=int(plain), transcendental_ops=int(trans))


@irdl_op_definition
class LayerNormOp(_Norm):
    """LayerNorm over the last axis: mean, variance, normalise, scale, shift (rsqrt per row)."""

    name = "tfm.layernorm"
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    result = result_def(T)
    gamma = operand_def(TensorType)
    beta = opt_operand_def(TensorType)
    KIND: ClassVar[str] = "layernorm"
    assembly_format = (
        "$input `,` $gamma (`,` $beta^)? " + _LB
        + " `:` type($input) `,` type($gamma) (`,` type($beta)^)?"
    )


@irdl_op_definition
class RmsNormOp(_Norm):
    """RMSNorm over the last axis: square, sum, normalise, scale (rsqrt per row)."""

    name = "tfm.rmsnorm"
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    result = result_def(T)
    gamma = operand_def(TensorType)
    KIND: ClassVar[str] = "rmsnorm"
    assembly_format = "$input `,` $gamma " + _LB + " `:` type($input) `,` type($gamma)"


@irdl_op_definition
class ActivationOp(GraphOp):
    """relu, gelu, gelu_tanh, silu, sigmoid; with a second operand, the gated form
    act(gate) * up (SwiGLU for silu, GeGLU for gelu)."""

    name = "tfm.activation"
    T: ClassVar = VarConstraint("T", base(TensorType))
    kind = prop_def(StringAttr)
    input = operand_def(T)
    up = opt_operand_def(T)
    result = result_def(T)
    assembly_format = "$kind $input (`*` $up^)? " + _LB + " `:` type($result)"

    def verify_shapes(self) -> None:
        if self.kind.data not in ACTIVATION_OPS:
            raise VerifyException(
                f"unknown activation '{self.kind.data}'; known: {', '.join(ACTIVATION_OPS)}")

    def work(self) -> Work:
        n = numel(self.result.type)
        plain, trans = ACTIVATION_OPS[self.kind.data]
        gated = 1 if self.up is not None else 0
        return self._io() + Work(vector_ops=n * (plain + gated), transcendental_ops=n * trans)


class _Binary(GraphOp):
    """Elementwise with numpy broadcasting."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    assembly_format = (
        "$lhs `,` $rhs " + _LB + " `:` type($lhs) `,` type($rhs) `->` type($result)"
    )

    def verify_shapes(self) -> None:
        a, b, out = _shape(self.lhs.type), _shape(self.rhs.type), _shape(self.result.type)
        n = max(len(a), len(b))
        pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
        if any(x != y and 1 not in (x, y) for x, y in zip(pa, pb, strict=True)) or out != tuple(
            max(x, y) for x, y in zip(pa, pb, strict=True)
        ):
            raise VerifyException(f"cannot broadcast {a} and {b} to {out}")

    def work(self) -> Work:
        return self._io() + Work(vector_ops=numel(self.result.type))


@irdl_op_definition
class AddOp(_Binary):
    name = "tfm.add"


@irdl_op_definition
class MulOp(_Binary):
    name = "tfm.mul"
