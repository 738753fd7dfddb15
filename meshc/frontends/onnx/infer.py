"""Shapes, dtypes and constant values of every ONNX value, with all dimensions concrete.

Symbolic input dimensions are bound first (`--dim NAME=VALUE`); then each node's outputs
are computed in topological order from its inputs: their shapes by the rules of shapes.py,
and, when every input is known, their values by the fold rules of fold.py. Small
integer/boolean tensors and anything computed only from constants (shape arithmetic, masks
built from `Range`, rope tables of a static export) are evaluated with numpy, so
`Reshape`/`Expand`/`Slice` targets are known exactly. Where a needed value is unknown (its
initializer lives in absent external data) the shape the exporter declared in `value_info`
is used, its expressions evaluated with the same bindings. The kinds of value are
values.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import prod

import numpy as np
import onnx
from onnx import TensorProto

from meshc import limits
from meshc.errors import MeshcError
from meshc.frontends.onnx import dims as dimexpr
from meshc.frontends.onnx.fold import FOLD, constant_value
from meshc.frontends.onnx.ops import VIEW_OPS, WEIGHT_ROLE_OPS
from meshc.frontends.onnx.reader import Graph, attrs, iter_dims
from meshc.frontends.onnx.shapes import SHAPES
from meshc.frontends.onnx.tensors import (
    KNOWN_TYPES,
    check_dims,
    inline_array,
    missing_values,
    type_name,
)
from meshc.frontends.onnx.values import (
    ACT,
    CONST,
    FLOAT_TYPES,
    FOLD_LIMIT,
    INPUT,
    WEIGHT,
    Array,
    Attrs,
    Ins,
    Spec,
    Unknown,
    Val,
    arg,
    dtype_of,
    np_dtype,
)


class Inference:
    """Runs shape, dtype and value propagation over a checked graph."""

    def __init__(self, graph: Graph, dims: Mapping[str, int],
                 defaults: Mapping[str, int] | None = None) -> None:
        self.g = graph
        self.env = dict(dims)
        self.defaults = dict(defaults or {})
        self.vals: dict[str, Val] = {}
        self._weight_values: dict[str, Array | None] = {}

    # -- entry ---------------------------------------------------------------------------
    def run(self) -> dict[str, Val]:
        self._bind_inputs()
        for name, t in self.g.initializers.items():
            self.vals[name] = self._initializer(name, t)
        for node in self.g.nodes:
            try:
                outs = self._node(node)
            except MeshcError as e:
                raise e.located(file=self.g.path, where=self.g.where(node)) from None
            except Unknown as e:
                raise self.g.error(f"cannot determine the output shape: {e}", node,
                                   hint=e.hint) from None
            except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError,
                    OverflowError, AssertionError, MemoryError, RuntimeError) as e:
                raise self.g.error(f"cannot infer shapes: {e or type(e).__name__}",
                                   node) from None
            for o, v in zip(node.output, outs, strict=False):
                if o:
                    self.vals[o] = v
        return self.vals

    # -- inputs and initializers ---------------------------------------------------------
    def _bind_inputs(self) -> None:
        needed: dict[str, list[str]] = {}
        exprs: list[tuple[onnx.ValueInfoProto, int, dimexpr.Expr | None]] = []
        for vi in self.g.inputs:
            if not vi.type.HasField("tensor_type"):
                raise MeshcError(f"graph input '{vi.name}' is not a tensor", file=self.g.path)
            if not vi.type.tensor_type.HasField("shape"):
                raise MeshcError(f"graph input '{vi.name}' has no shape (rank unknown)",
                                 file=self.g.path)
            for axis, (value, param) in enumerate(iter_dims(vi)):
                if value is not None:
                    exprs.append((vi, axis, None))
                    continue
                e = dimexpr.parse(param if param is not None else f"{vi.name}[{axis}]")
                exprs.append((vi, axis, e))
                for n in e.names:
                    needed.setdefault(n, []).append(f"{vi.name}[{axis}]")
        unknown = sorted(set(self.env) - set(needed))
        if unknown:
            known = ", ".join(sorted(needed)) or "none (every input shape is static)"
            raise MeshcError(
                f"unknown dimension name(s) {', '.join(repr(u) for u in unknown)} given with "
                f"--dim; the model's symbolic dimensions are: {known}", file=self.g.path)
        for k, v in self.env.items():
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise MeshcError(f"--dim {k}={v}: a dimension must be a positive integer",
                                 file=self.g.path)
            limits.check("dim", v, f"--dim {k}")
        for n in sorted(set(needed) - set(self.env)):
            if n in self.defaults:  # common names follow --batch, --seq, --kv-len
                self.env[n] = self.defaults[n]
        unbound = sorted(set(needed) - set(self.env))
        if unbound:
            raise MeshcError(
                "unbound symbolic dimension(s): " + ", ".join(
                    f"{n} (in {', '.join(needed[n][:3])})" for n in unbound),
                file=self.g.path,
                hint="bind each with --dim NAME=VALUE, e.g. " + " ".join(
                    f"--dim {n}=..." for n in unbound))
        shapes: dict[str, list[int]] = {}
        for vi, axis, expr in exprs:
            shape = shapes.setdefault(vi.name, [])
            try:
                v = (vi.type.tensor_type.shape.dim[axis].dim_value if expr is None
                     else expr.value(self.env))
            except MeshcError as err:
                raise err.located(file=self.g.path, where=f"input '{vi.name}'") from None
            if v < 0 or (v == 0 and expr is not None):
                raise MeshcError(f"dimension {axis} ('{expr.text if expr else v}') evaluates "
                                 f"to {v}", file=self.g.path, where=f"input '{vi.name}'")
            shape.append(v)
        for vi in self.g.inputs:
            dtype = vi.type.tensor_type.elem_type
            if dtype == TensorProto.STRING or dtype not in KNOWN_TYPES:
                raise MeshcError(f"graph input '{vi.name}' has an unsupported "
                                 f"{type_name(dtype)}", file=self.g.path)
            try:
                checked = check_dims(shapes.get(vi.name, []), f"graph input '{vi.name}'")
            except MeshcError as err:
                raise err.located(file=self.g.path) from None
            self.vals[vi.name] = Val(vi.name, dtype, checked, INPUT)

    def _initializer(self, name: str, t: TensorProto) -> Val:
        if t.data_type in (TensorProto.STRING, TensorProto.UNDEFINED):
            raise MeshcError(f"initializer '{name}' has an unsupported "
                             f"{type_name(t.data_type)}", file=self.g.path)
        shape = tuple(int(d) for d in t.dims)
        if t.data_type in FLOAT_TYPES and prod(shape) > 1:
            return Val(name, t.data_type, shape, WEIGHT, init=name)
        value = self._load(name, t)
        return Val(name, t.data_type, shape, CONST, value=value,
                   missing="" if value is not None else missing_values(t))

    def _load(self, name: str, t: TensorProto) -> Array | None:
        """Inline data only (checked by the reader); None when it is shape-only."""
        try:
            return inline_array(t, f"initializer '{name}'")
        except MeshcError as e:
            raise e.located(file=self.g.path) from None

    def weight_value(self, name: str) -> Array | None:
        if name not in self._weight_values:
            t = self.g.initializers[name]
            self._weight_values[name] = (self._load(name, t) if prod(t.dims) <= FOLD_LIMIT
                                         else None)
        return self._weight_values[name]

    # -- one node --------------------------------------------------------------------------
    def _node(self, node: onnx.NodeProto) -> list[Val]:
        op = node.op_type
        a = attrs(node)
        ins: list[Val | None] = [self.vals[x] if x else None for x in node.input]
        if op == "Constant":
            v = constant_value(a)
            check_dims(v.shape, "the Constant")
            return [Val(node.output[0], dtype_of(v), tuple(v.shape), CONST, value=v)]
        if op in ("Shape", "Size"):
            return [self._shape_op(node, op, arg(ins, 0), a)]
        specs = self._specs(node, op, ins, a)
        out: list[Val] = []
        present = [v for v in ins if v is not None]
        # a weight seen through a view stays the weight (same bytes, another layout)
        if (op in VIEW_OPS and ins and ins[0] is not None and ins[0].kind == WEIGHT
                and all(v.known for v in present[1:])):
            dtype, shape = specs[0]
            return [Val(node.output[0], ins[0].dtype, shape, WEIGHT, init=ins[0].init)] + [
                Val(o, d, s, ACT) for o, (d, s) in zip(node.output[1:], specs[1:],
                                                       strict=False)]
        values = self._foldable(op, present, specs)
        folded = None
        if values is not None:
            try:
                folded = FOLD[op](op, a, self.g.opset, *values)
            except Unknown:
                folded = None
        if folded is not None:
            for o, v, (dtype, shape) in zip(node.output, folded, specs, strict=False):
                v = np.asarray(v)
                if dtype != TensorProto.UNDEFINED:
                    v = v.astype(np_dtype(dtype), copy=False)
                if tuple(v.shape) != tuple(shape):
                    raise ValueError(f"folded value of '{o}' has shape {list(v.shape)}, "
                                     f"expected {list(shape)}")
                out.append(Val(o, dtype, tuple(shape), CONST, value=v))
            return out
        # data moved out of a weight (MoE experts gathered per token) is still weight data;
        # rows looked up in a 2-D embedding table are activations
        moved = any(v.kind == WEIGHT or v.from_weight for v in present[:1]) and op in (
            "Gather", "GatherND", "GatherElements", "Slice", "Expand", "Tile", "Reshape",
            "Transpose", "Squeeze", "Unsqueeze", "Concat", "Split", "Flatten", "Cast"
        ) and not (op == "Gather" and present[0].kind == WEIGHT and len(present[0].shape) == 2)
        return [Val(o, d, s, ACT, from_weight=moved) for o, (d, s) in zip(
            node.output, specs, strict=False)]

    def _foldable(self, op: str, present: list[Val],
                  specs: list[Spec]) -> list[Array] | None:
        if op not in FOLD or any(prod(s) > FOLD_LIMIT for _, s in specs):
            return None
        values = []
        for v in present:
            if v.kind == CONST and v.value is not None:
                values.append(v.value)
            elif (v.kind == WEIGHT and op not in WEIGHT_ROLE_OPS and v.init is not None
                  and prod(v.shape) <= FOLD_LIMIT):
                w = self.weight_value(v.init)
                if w is None:
                    return None
                values.append(w.reshape(v.shape) if w.size == prod(v.shape) else w)
            else:
                return None
        return values

    def _shape_op(self, node: onnx.NodeProto, op: str, x: Val, a: Attrs) -> Val:
        if op == "Size":
            return Val(node.output[0], TensorProto.INT64, (), CONST,
                       value=np.array(prod(x.shape), np.int64))
        r = len(x.shape)
        start, end = a.get("start", 0), a.get("end", r)
        s = list(x.shape)[slice(start, end)] if (start, end) != (0, r) else list(x.shape)
        return Val(node.output[0], TensorProto.INT64, (len(s),), CONST,
                   value=np.array(s, np.int64))

    def _specs(self, node: onnx.NodeProto, op: str, ins: Ins,
               a: Attrs) -> list[Spec]:
        fn = SHAPES.get(op)
        try:
            if fn is None:
                raise Unknown(f"no shape rule for {op}")
            specs = fn(op, ins, a, self.g.opset, len(node.output))
        except Unknown as e:
            declared = [self._declared(o) for o in node.output if o]
            found = [d for d in declared if d is not None]
            if declared and len(found) == len(declared):
                return found
            raise Unknown(f"{e}, and the model declares no concrete shape for "
                          f"'{node.output[0]}'", e.hint) from None
        for k, (_, shape) in enumerate(specs):
            if any(d < 0 for d in shape):
                raise ValueError(f"negative dimension in {list(shape)}")
            check_dims(shape, f"output {k} ('{node.output[k] if k < len(node.output) else ''}')")
        return specs

    def _declared(self, name: str) -> Spec | None:
        vi = self.g.declared.get(name)
        if vi is None or not vi.type.tensor_type.HasField("shape"):
            return None
        shape = []
        for value, param in iter_dims(vi):
            if value is not None and value > 0:
                shape.append(value)
            elif param is not None:
                e = dimexpr.parse(param)
                if not e.names <= set(self.env):
                    return None
                try:
                    shape.append(e.value(self.env))
                except MeshcError as err:
                    raise err.located(file=self.g.path, where=f"the declared shape of "
                                      f"'{name}'") from None
            else:
                return None
        return vi.type.tensor_type.elem_type, tuple(shape)
