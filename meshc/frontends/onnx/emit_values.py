"""The values side of emitting ONNX as `tfm` ops (emit.py): element types, and the table
from each ONNX value to its SSA value (activations as emitted, weights as one `tfm.weight`
per initializer, constants as zero-work generics where an operand is needed)."""

from __future__ import annotations

import re
from math import prod
from typing import cast

import onnx
from onnx import TensorProto
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float4E2M1FNType,
    Float8E4M3FNType,
    Float8E4M3FNUZType,
    Float8E5M2FNUZType,
    Float8E5M2Type,
    Float8E8M0FNUType,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue

from meshc.errors import MeshcError
from meshc.frontends.builder import GraphBuilder
from meshc.frontends.onnx.fuse import Fuser, Unit
from meshc.frontends.onnx.reader import Graph
from meshc.frontends.onnx.values import ACT, INPUT, WEIGHT, Val

_ELT: dict[int, Attribute] = {
    TensorProto.FLOAT: Float32Type(), TensorProto.FLOAT16: Float16Type(),
    TensorProto.BFLOAT16: BFloat16Type(), TensorProto.DOUBLE: Float64Type(),
    TensorProto.FLOAT8E4M3FN: Float8E4M3FNType(), TensorProto.FLOAT8E4M3FNUZ:
    Float8E4M3FNUZType(), TensorProto.FLOAT8E5M2: Float8E5M2Type(),
    TensorProto.FLOAT8E5M2FNUZ: Float8E5M2FNUZType(),
    **{getattr(TensorProto, k): v for k, v in (
        ("FLOAT4E2M1", Float4E2M1FNType()), ("FLOAT8E8M0", Float8E8M0FNUType()),
        ("INT2", IntegerType(2)), ("UINT2", IntegerType(2, Signedness.UNSIGNED)))
       if hasattr(TensorProto, k)},
    TensorProto.BOOL: IntegerType(1),
    TensorProto.INT4: IntegerType(4), TensorProto.INT8: IntegerType(8),
    TensorProto.INT16: IntegerType(16), TensorProto.INT32: IntegerType(32),
    TensorProto.INT64: IntegerType(64),
    TensorProto.UINT4: IntegerType(4, Signedness.UNSIGNED),
    TensorProto.UINT8: IntegerType(8, Signedness.UNSIGNED),
    TensorProto.UINT16: IntegerType(16, Signedness.UNSIGNED),
    TensorProto.UINT32: IntegerType(32, Signedness.UNSIGNED),
    TensorProto.UINT64: IntegerType(64, Signedness.UNSIGNED),
}
_ANON = re.compile(r"^(onnx::|val_\d|_val_|\d+$)")


def element_type(dtype: int) -> Attribute:
    elt = _ELT.get(dtype)
    if elt is None:
        raise ValueError(f"element type {TensorProto.DataType.Name(dtype)} is not supported")
    return elt


def tensor_type(dtype: int, shape: tuple[int, ...]) -> TensorType:
    return TensorType(element_type(dtype), list(shape) if shape else [1])


class Empty(Exception):
    """A unit reads or writes a tensor with a zero dimension: it does no work."""


class ValueTable:
    """The SSA value of every ONNX value emitted so far."""

    def __init__(self, graph: Graph, vals: dict[str, Val], units: list[Unit],
                 fuser: Fuser) -> None:
        self.g, self.vals, self.units, self.f = graph, vals, units, fuser
        try:
            args = [self._type(vals[i.name]) for i in graph.inputs]
        except ValueError as e:
            raise MeshcError(f"cannot import the graph inputs: {e}", file=graph.path) from None
        self.b = GraphBuilder("graph", args, self._main_dtype())
        self.ssa: dict[str, SSAValue | None] = {
            i.name: a for i, a in zip(graph.inputs, self.b.args, strict=True)}
        self.weights: dict[str, SSAValue] = {}
        self.views: dict[tuple[str, tuple[int, ...]], SSAValue] = {}
        self.consts: dict[str, SSAValue] = {}
        self.params: set[str] = set()
        self.node: onnx.NodeProto | None = None

    def _main_dtype(self) -> Attribute:
        counts: dict[int, int] = {}
        for t in self.g.initializers.values():
            counts[t.data_type] = counts.get(t.data_type, 0) + prod(t.dims)
        floats = {k: v for k, v in counts.items() if k in (
            TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE)}
        return element_type(max(floats, key=floats.__getitem__) if floats
                            else TensorProto.FLOAT)

    def _type(self, v: Val) -> TensorType:
        return tensor_type(v.dtype, v.shape)

    # -- values ------------------------------------------------------------------------------
    def value(self, name: str) -> SSAValue | None:
        v = self.vals[name]
        if v.kind in (INPUT, ACT):
            return self.ssa[name]
        if v.kind == WEIGHT:
            assert v.init is not None
            return self.weight(v.init, v.shape)
        return self.const(name)

    def need(self, name: str) -> SSAValue:
        v = self.value(name)
        if v is None:
            raise Empty
        return v

    def weight(self, init: str, shape: tuple[int, ...]) -> SSAValue:
        shape = tuple(shape) or (1,)
        w = self.weights.get(init)
        if w is None:
            t = self.g.initializers[init]
            w = self.b.weight(self._param_name(init), shape,
                              element_type(t.data_type))
            self.weights[init] = w
        wt = cast("TensorType[Attribute]", w.type)  # a weight is a tensor
        if tuple(wt.get_shape()) == shape:
            return w
        key = (init, shape)
        if key not in self.views:
            self.views[key] = self.b.generic(
                "Reshape", [w], [TensorType(wt.element_type, list(shape))])[0]
        return self.views[key]

    def _param_name(self, init: str) -> str:
        name = init
        node = self.node
        if _ANON.match(init) and node is not None and "/" in node.name:
            scope = [p for p in node.name.strip("/").split("/")[:-1] if p]
            if scope:
                name = ".".join(scope) + ".weight"
        base, k = name, 1
        while name in self.params:
            k += 1
            name = f"{base}#{k}"
        self.params.add(name)
        return name

    def const(self, name: str) -> SSAValue | None:
        if name not in self.consts:
            v = self.vals[name]
            if 0 in v.shape:
                return None
            self.consts[name] = self.b.generic("Constant", [], [self._type(v)])[0]
        return self.consts[name]

    def _set(self, name: str, value: SSAValue) -> None:
        want = self._type(self.vals[name])
        got = value.type
        assert isinstance(got, TensorType)
        if tuple(got.get_shape()) != tuple(want.get_shape()):
            raise ValueError(f"internal error: '{name}' is {list(got.get_shape())}, the graph "
                             f"says {list(want.get_shape())}")
        self.ssa[name] = value

    def _empty(self, names: list[str]) -> bool:
        return any(0 in self.vals[x].shape for x in names if x)

    def _pack(self, x: SSAValue, v: Val) -> SSAValue:
        """[B, H, S, D] -> [B, S, H*D] (a transpose and a reshape: data movement)."""
        b, h, s, d = v.shape
        return self.b.generic("PackHeads", [x], [tensor_type(v.dtype, (b, s, h * d))])[0]
