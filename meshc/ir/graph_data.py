"""`tfm` ops that move, convert or stand for data rather than compute a layer: concat and
slice, the KV cache's read and append, quantize and dequantize, and the generic op for what
meshc has no model of. Part of the `tfm` dialect (meshc/ir/graph.py registers them)."""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import (
    I64,
    IntegerAttr,
    StringAttr,
    TensorType,
)
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    var_operand_def,
    var_result_def,
)
from xdsl.utils.exceptions import VerifyException

from meshc.ir._graph_base import _LB, GraphOp, _int, _shape, _without
from meshc.ir.work import (
    Work,
    numel,
    tensor_bytes,
)


@irdl_op_definition
class ConcatOp(GraphOp):
    """Concatenation along the last axis, or with `axis` along another one (data movement
    only). split-rows joins row blocks with `axis 1`."""

    name = "tfm.concat"
    inputs = var_operand_def(TensorType)
    axis = opt_prop_def(IntegerAttr[I64])
    result = result_def(TensorType)
    assembly_format = (
        "$inputs (`axis` $axis^)? " + _LB + " `:` type($inputs) `->` type($result)"
    )

    def axis_index(self) -> int:
        """The concatenated axis, from 0."""
        rank = len(_shape(self.result.type))
        return rank - 1 if self.axis is None else _int(self.axis)

    def verify_shapes(self) -> None:
        shapes = [_shape(i.type) for i in self.inputs]
        out = _shape(self.result.type)
        a = self.axis_index()
        if not shapes or not all(shapes) or not 0 <= a < len(out) or any(
            len(s) != len(out) or _without(s, a) != _without(out, a) for s in shapes
        ) or sum(s[a] for s in shapes) != out[a]:
            where = "the last axis" if self.axis is None else f"axis {a}"
            raise VerifyException(f"concatenating {shapes} on {where} cannot give {out}")

    def work(self) -> Work:
        return self._io()


@irdl_op_definition
class SliceOp(GraphOp):
    """Rows `[start, start + len)` of an activation along the tokens axis (axis 1), where
    len is the result's length there (data movement only). split-rows cuts row blocks
    with it."""

    name = "tfm.slice"
    input = operand_def(TensorType)
    start = prop_def(IntegerAttr[I64])
    result = result_def(TensorType)
    assembly_format = "$input `start` $start " + _LB + " `:` type($input) `->` type($result)"

    def verify_shapes(self) -> None:
        x, out = _shape(self.input.type), _shape(self.result.type)
        first = _int(self.start)
        if (len(x) < 2 or len(out) != len(x) or out[:1] + out[2:] != x[:1] + x[2:]
                or first < 0 or first + out[1] > x[1]):
            raise VerifyException(f"rows [{first}, {first + (out[1:2] or (0,))[0]}) of {x} "
                                  f"cannot give {out}")

    def work(self) -> Work:
        n = tensor_bytes(self.result.type)
        return Work(in_bytes=n, out_bytes=n)


@irdl_op_definition
class KvReadOp(GraphOp):
    """Reads the past entries of one KV cache (`k` or `v`) of a layer: `[B, past, width]`."""

    name = "tfm.kv_read"
    cache = prop_def(StringAttr)
    result = result_def(TensorType)
    assembly_format = "$cache " + _LB + " `:` type($result)"

    def work(self) -> Work:
        n = tensor_bytes(self.result.type)
        return Work(kv_read_bytes=n, out_bytes=n)


@irdl_op_definition
class KvAppendOp(GraphOp):
    """Appends new entries `[B, new, width]` to a KV cache; the result is the whole cache
    `[B, past + new, width]` that attention reads."""

    name = "tfm.kv_append"
    cache = prop_def(StringAttr)
    new = operand_def(TensorType)
    past = opt_operand_def(TensorType)
    result = result_def(TensorType)
    assembly_format = (
        "$cache $new (`past` $past^)? " + _LB
        + " `:` type($new) (`,` type($past)^)? `->` type($result)"
    )

    def verify_shapes(self) -> None:
        new, out = _shape(self.new.type), _shape(self.result.type)
        if self.past is not None and len(_shape(self.past.type)) != 3:
            raise VerifyException(f"past {_shape(self.past.type)} is not [B, len, width]")
        past = _shape(self.past.type)[1] if self.past is not None else 0
        if self.past is not None and _shape(self.past.type)[::2] != new[::2]:
            raise VerifyException(f"past {_shape(self.past.type)} and new {new} differ")
        if len(new) != 3 or out != (new[0], new[1] + past, new[2]):
            raise VerifyException(f"appending {new} to {past} entries cannot give {out}")

    def work(self) -> Work:
        n = tensor_bytes(self.new.type)
        return Work(kv_write_bytes=n, in_bytes=n)


@irdl_op_definition
class QuantizeOp(GraphOp):
    """Quantizes to a narrower element type with one scale per `group` elements."""

    name = "tfm.quantize"
    input = operand_def(TensorType)
    group = prop_def(IntegerAttr[I64])
    result = result_def(TensorType)
    assembly_format = (
        "$input `group` $group " + _LB + " `:` type($input) `->` type($result)"
    )

    def verify_shapes(self) -> None:
        if _shape(self.input.type) != _shape(self.result.type):
            raise VerifyException("quantize must keep the shape")
        if _int(self.group) <= 0:
            raise VerifyException("group must be positive")

    def work(self) -> Work:
        n = numel(self.result.type)
        return self._io() + Work(vector_ops=2 * n)  # scale and round


@irdl_op_definition
class DequantizeOp(GraphOp):
    """Widens a quantized tensor back to a compute precision."""

    name = "tfm.dequantize"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    assembly_format = "$input " + _LB + " `:` type($input) `->` type($result)"

    def verify_shapes(self) -> None:
        if _shape(self.input.type) != _shape(self.result.type):
            raise VerifyException("dequantize must keep the shape")

    def work(self) -> Work:
        return self._io() + Work(vector_ops=numel(self.result.type))


@irdl_op_definition
class GenericOp(GraphOp):
    """An op meshc has no model for (e.g. an unrecognised ONNX op), with its work counted.

    `mac_kind` (optional) says which share its MACs are: `linear` (activation x weight, e.g.
    a batched matmul over gathered expert weights) or `attention`; without it they count
    in `macs` only."""

    name = "tfm.generic"
    op_type = prop_def(StringAttr)
    inputs = var_operand_def(TensorType)
    outputs = var_result_def(TensorType)
    macs = prop_def(IntegerAttr[I64])
    mac_kind = opt_prop_def(StringAttr)
    vector_ops = prop_def(IntegerAttr[I64])
    assembly_format = (
        "$op_type `(` $inputs `)` `macs` $macs (`kind` $mac_kind^)? `vector_ops` $vector_ops "
        + _LB + " `:` functional-type($inputs, $outputs)"
    )
    MAC_KINDS: ClassVar[tuple[str, ...]] = ("linear", "attention")

    def verify_shapes(self) -> None:
        if _int(self.macs) < 0 or _int(self.vector_ops) < 0:
            raise VerifyException("macs and vector_ops must be >= 0")
        if self.mac_kind is not None and self.mac_kind.data not in self.MAC_KINDS:
            raise VerifyException(f"mac kind must be one of {', '.join(self.MAC_KINDS)}, "
                                  f"got '{self.mac_kind.data}'")

    def work(self) -> Work:
        macs = _int(self.macs)
        kind = self.mac_kind.data if self.mac_kind is not None else None
        return self._io() + Work(macs=macs,
                                 attention_macs=macs if kind == "attention" else 0,
                                 linear_macs=macs if kind == "linear" else 0,
                                 vector_ops=_int(self.vector_ops))

