"""Shapes, dtypes and constant values of every ONNX value, with all dimensions concrete.

Symbolic input dimensions are bound first (`--dim NAME=VALUE`); then each node's outputs
are computed in topological order from its inputs. Small integer/boolean tensors and
anything computed only from constants (shape arithmetic, masks built from `Range`, rope
tables of a static export) are evaluated with numpy, so `Reshape`/`Expand`/`Slice` targets
are known exactly. Where a needed value is unknown (its initializer lives in absent external
data) the shape the exporter declared in `value_info` is used, its expressions evaluated
with the same bindings.

Each value is one of four kinds: a graph `input`, a `weight` (a floating-point initializer
of more than one element, or a view of one: Transpose/Reshape/Cast ...), a `const` (value
known, or an initializer whose data is absent) and an `act` (computed at run time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import prod

import numpy as np
import onnx
from onnx import TensorProto

from meshc import limits
from meshc.errors import MeshcError
from meshc.frontends.onnx import dims as dimexpr
from meshc.frontends.onnx.ops import ELEMENTWISE, VIEW_OPS, WEIGHT_ROLE_OPS
from meshc.frontends.onnx.reader import Graph, attrs, iter_dims
from meshc.frontends.onnx.tensors import (
    KNOWN_TYPES,
    REINLINE,
    check_dims,
    inline_array,
    missing_values,
    needed_array,
    type_name,
)

INPUT, WEIGHT, CONST, ACT = "input", "weight", "const", "act"
FOLD_LIMIT = 1 << 20  # largest tensor (elements) evaluated at import time
FLOAT_TYPES = frozenset({
    TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE,
    TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2,
    TensorProto.FLOAT8E5M2FNUZ, *([TensorProto.FLOAT4E2M1] if hasattr(TensorProto,
                                                                     "FLOAT4E2M1") else []),
})


@dataclass(eq=False)
class Val:
    """What the importer knows about one ONNX value."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    kind: str
    value: np.ndarray | None = None
    init: str | None = None  # weight: the initializer it views
    from_weight: bool = False  # act: data moved out of a weight (e.g. MoE expert gather)
    missing: str = ""  # const without a value: why (tensors.missing_values)

    @property
    def numel(self) -> int:
        return prod(self.shape)

    @property
    def known(self) -> bool:
        return self.value is not None


class _Unknown(Exception):
    """A value needed to compute a shape is not known at import time."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _np_dtype(t: int) -> np.dtype:
    return onnx.helper.tensor_dtype_to_np_dtype(t)


class Inference:
    """Runs shape, dtype and value propagation over a checked graph."""

    def __init__(self, graph: Graph, dims: Mapping[str, int],
                 defaults: Mapping[str, int] | None = None) -> None:
        self.g = graph
        self.env = dict(dims)
        self.defaults = dict(defaults or {})
        self.vals: dict[str, Val] = {}
        self._weight_values: dict[str, np.ndarray | None] = {}

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
            except _Unknown as e:
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
        for vi, axis, e in exprs:
            shape = shapes.setdefault(vi.name, [])
            try:
                v = (vi.type.tensor_type.shape.dim[axis].dim_value if e is None
                     else e.value(self.env))
            except MeshcError as err:
                raise err.located(file=self.g.path, where=f"input '{vi.name}'") from None
            if v < 0 or (v == 0 and e is not None):
                raise MeshcError(f"dimension {axis} ('{e.text if e else v}') evaluates to {v}",
                                 file=self.g.path, where=f"input '{vi.name}'")
            shape.append(v)
        for vi in self.g.inputs:
            dtype = vi.type.tensor_type.elem_type
            if dtype == TensorProto.STRING or dtype not in KNOWN_TYPES:
                raise MeshcError(f"graph input '{vi.name}' has an unsupported "
                                 f"{type_name(dtype)}", file=self.g.path)
            try:
                shape = check_dims(shapes.get(vi.name, []), f"graph input '{vi.name}'")
            except MeshcError as err:
                raise err.located(file=self.g.path) from None
            self.vals[vi.name] = Val(vi.name, dtype, shape, INPUT)

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

    def _load(self, name: str, t: TensorProto) -> np.ndarray | None:
        """Inline data only (checked by the reader); None when it is shape-only."""
        try:
            return inline_array(t, f"initializer '{name}'")
        except MeshcError as e:
            raise e.located(file=self.g.path) from None

    def weight_value(self, name: str) -> np.ndarray | None:
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
            v = _constant(a)
            check_dims(v.shape, "the Constant")
            return [Val(node.output[0], _dtype_of(v), tuple(v.shape), CONST, value=v)]
        if op in ("Shape", "Size"):
            return [self._shape_op(node, op, ins[0], a)]
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
            except _Unknown:
                folded = None
        if folded is not None:
            for o, v, (dtype, shape) in zip(node.output, folded, specs, strict=False):
                v = np.asarray(v)
                if dtype != TensorProto.UNDEFINED:
                    v = v.astype(_np_dtype(dtype), copy=False)
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
                  specs: list[tuple[int, tuple[int, ...]]]) -> list[np.ndarray] | None:
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

    def _shape_op(self, node: onnx.NodeProto, op: str, x: Val | None, a: dict) -> Val:
        assert x is not None
        if op == "Size":
            return Val(node.output[0], TensorProto.INT64, (), CONST,
                       value=np.array(prod(x.shape), np.int64))
        r = len(x.shape)
        start, end = a.get("start", 0), a.get("end", r)
        s = list(x.shape)[slice(start, end)] if (start, end) != (0, r) else list(x.shape)
        return Val(node.output[0], TensorProto.INT64, (len(s),), CONST,
                   value=np.array(s, np.int64))

    def _specs(self, node: onnx.NodeProto, op: str, ins: list[Val | None],
               a: dict) -> list[tuple[int, tuple[int, ...]]]:
        fn = SHAPES.get(op)
        try:
            if fn is None:
                raise _Unknown(f"no shape rule for {op}")
            specs = fn(op, ins, a, self.g.opset, len(node.output))
        except _Unknown as e:
            declared = [self._declared(o) for o in node.output if o]
            if declared and all(d is not None for d in declared):
                return declared  # type: ignore[return-value]
            raise _Unknown(f"{e}, and the model declares no concrete shape for "
                           f"'{node.output[0]}'", e.hint) from None
        for k, (_, shape) in enumerate(specs):
            if any(d < 0 for d in shape):
                raise ValueError(f"negative dimension in {list(shape)}")
            check_dims(shape, f"output {k} ('{node.output[k] if k < len(node.output) else ''}')")
        return specs

    def _declared(self, name: str) -> tuple[int, tuple[int, ...]] | None:
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


# ---------------------------------------------------------------------------------------
# helpers

def _dtype_of(v: np.ndarray) -> int:
    return onnx.helper.np_dtype_to_tensor_dtype(v.dtype)


def _constant(a: dict) -> np.ndarray:
    if "value" in a:
        return needed_array(a["value"], "its value")
    if "value_float" in a:
        return np.array(a["value_float"], np.float32)
    if "value_floats" in a:
        return np.array(a["value_floats"], np.float32)
    if "value_int" in a:
        return np.array(a["value_int"], np.int64)
    if "value_ints" in a:
        return np.array(a["value_ints"], np.int64)
    raise ValueError("Constant without a numeric value (string and sparse constants are not "
                     "supported)")


def _need(v: Val | None, what: str) -> np.ndarray:
    if v is None:
        raise _Unknown(f"{what} is missing")
    if v.value is None:
        if v.kind == CONST:  # only a shape-only initializer (external or no data) has none
            raise _Unknown(f"{what} (initializer '{v.name}') {v.missing}", REINLINE)
        raise _Unknown(f"{what} ('{v.name}') is computed at run time or lives in external "
                       "data")
    return v.value


def _ints(v: Val | None, what: str) -> list[int]:
    return [int(x) for x in np.asarray(_need(v, what)).reshape(-1)]


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def _bcast(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError("cannot broadcast shapes " + ", ".join(
            str(list(s)) for s in shapes)) from None


Spec = tuple[int, tuple[int, ...]]
ShapeFn = Callable[[str, list["Val | None"], dict, int, int], list[Spec]]
SHAPES: dict[str, ShapeFn] = {}
FOLD: dict[str, Callable[..., list[np.ndarray]]] = {}


def _shape(*ops: str) -> Callable[[ShapeFn], ShapeFn]:
    def deco(fn: ShapeFn) -> ShapeFn:
        for o in ops:
            SHAPES[o] = fn
        return fn
    return deco


def _fold(*ops: str) -> Callable:
    def deco(fn: Callable) -> Callable:
        for o in ops:
            FOLD[o] = fn
        return fn
    return deco


# ---------------------------------------------------------------------------------------
# shape rules

_BOOL_OUT = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor",
             "Not", "IsNaN", "IsInf"}
_UNARY_SAME = (ELEMENTWISE - {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum",
                              "Mean", "Where", "Equal", "Less", "LessOrEqual", "Greater",
                              "GreaterOrEqual", "And", "Or", "Xor", "BitShift", "BitwiseAnd",
                              "BitwiseOr", "BitwiseXor", "PRelu", "QuantizeLinear",
                              "DequantizeLinear"}) | {
    "Identity", "Softmax", "LogSoftmax", "Hardmax", "CumSum", "RotaryEmbedding",
    "RMSNormalization", "InstanceNormalization", "GroupNormalization"}


@_shape(*_UNARY_SAME)
def _s_unary(op, ins, a, opset, nout):
    x = ins[0]
    return [(TensorProto.BOOL if op in _BOOL_OUT else x.dtype, x.shape)]


@_shape("Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean", "Equal",
        "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "BitShift",
        "BitwiseAnd", "BitwiseOr", "BitwiseXor", "PRelu")
def _s_binary(op, ins, a, opset, nout):
    present = [v for v in ins if v is not None]
    shape = _bcast(*(v.shape for v in present))
    return [(TensorProto.BOOL if op in _BOOL_OUT else present[0].dtype, shape)]


@_shape("Where")
def _s_where(op, ins, a, opset, nout):
    return [(ins[1].dtype, _bcast(ins[0].shape, ins[1].shape, ins[2].shape))]


@_shape("Clip")
def _s_clip(op, ins, a, opset, nout):
    return [(ins[0].dtype, ins[0].shape)]


@_shape("Dropout")
def _s_dropout(op, ins, a, opset, nout):
    x = ins[0]
    return [(x.dtype, x.shape), (TensorProto.BOOL, x.shape)][:nout]


@_shape("Cast")
def _s_cast(op, ins, a, opset, nout):
    return [(int(a["to"]), ins[0].shape)]


@_shape("CastLike")
def _s_castlike(op, ins, a, opset, nout):
    return [(ins[1].dtype, ins[0].shape)]


@_shape("QuantizeLinear")
def _s_quant(op, ins, a, opset, nout):
    dt = (ins[2].dtype if len(ins) > 2 and ins[2] is not None
          else int(a.get("output_dtype", 0)) or TensorProto.UINT8)
    return [(dt, ins[0].shape)]


@_shape("DequantizeLinear")
def _s_dequant(op, ins, a, opset, nout):
    dt = int(a.get("output_dtype", 0)) or ins[1].dtype
    return [(dt, ins[0].shape)]


@_shape("Reshape")
def _s_reshape(op, ins, a, opset, nout):
    x = ins[0]
    old = opset < 5 and "shape" in a
    target = list(a["shape"]) if old else _ints(ins[1], "the target shape")
    return [(x.dtype, _reshape(x.shape, target, bool(a.get("allowzero", 0))))]


def _reshape(shape: tuple[int, ...], target: list[int], allowzero: bool) -> tuple[int, ...]:
    out = []
    for i, t in enumerate(target):
        if t == 0 and not allowzero:
            if i >= len(shape):
                raise ValueError(f"reshape to {target}: no input axis {i} to copy")
            out.append(shape[i])
        else:
            out.append(t)
    if out.count(-1) > 1:
        raise ValueError(f"reshape to {target}: more than one -1")
    total = prod(shape)
    if -1 in out:
        rest = prod(d for d in out if d != -1)
        if rest == 0 or total % rest:
            raise ValueError(f"cannot reshape {list(shape)} to {target}")
        out[out.index(-1)] = total // rest
    if prod(out) != total:
        raise ValueError(f"cannot reshape {list(shape)} ({total} elements) to {out}")
    return tuple(out)


@_shape("Flatten")
def _s_flatten(op, ins, a, opset, nout):
    x = ins[0]
    r = len(x.shape)
    axis = a.get("axis", 1)
    axis = axis + r if axis < 0 else axis
    return [(x.dtype, (prod(x.shape[:axis]), prod(x.shape[axis:])))]


def _axes_input(ins, a, k: int) -> list[int] | None:
    if "axes" in a:
        return list(a["axes"])
    if len(ins) > k and ins[k] is not None:
        return _ints(ins[k], "the axes")
    return None


@_shape("Squeeze")
def _s_squeeze(op, ins, a, opset, nout):
    x = ins[0]
    r = len(x.shape)
    axes = _axes_input(ins, a, 1)
    if axes is None:
        keep = [d for d in x.shape if d != 1]
    else:
        drop = {_axis(ax, r) for ax in axes}
        for d in drop:
            if x.shape[d] != 1:
                raise ValueError(f"cannot squeeze axis {d} of size {x.shape[d]}")
        keep = [d for i, d in enumerate(x.shape) if i not in drop]
    return [(x.dtype, tuple(keep))]


@_shape("Unsqueeze")
def _s_unsqueeze(op, ins, a, opset, nout):
    x = ins[0]
    axes = _axes_input(ins, a, 1)
    if axes is None:
        raise ValueError("Unsqueeze without axes")
    r = len(x.shape) + len(axes)
    pos = sorted(_axis(ax, r) for ax in axes)
    out = list(x.shape)
    for p in pos:
        out.insert(p, 1)
    return [(x.dtype, tuple(out))]


@_shape("Transpose")
def _s_transpose(op, ins, a, opset, nout):
    x = ins[0]
    perm = list(a.get("perm", range(len(x.shape) - 1, -1, -1)))
    if sorted(perm) != list(range(len(x.shape))):
        raise ValueError(f"perm {perm} does not match rank {len(x.shape)}")
    return [(x.dtype, tuple(x.shape[p] for p in perm))]


@_shape("Expand")
def _s_expand(op, ins, a, opset, nout):
    x = ins[0]
    return [(x.dtype, _bcast(x.shape, tuple(_ints(ins[1], "the target shape"))))]


@_shape("Concat")
def _s_concat(op, ins, a, opset, nout):
    present = [v for v in ins if v is not None]
    r = len(present[0].shape)
    axis = _axis(a["axis"], r)
    out = list(present[0].shape)
    out[axis] = 0
    for v in present:
        if len(v.shape) != r or any(v.shape[i] != present[0].shape[i] for i in range(r)
                                    if i != axis):
            raise ValueError("cannot concatenate " + ", ".join(
                str(list(p.shape)) for p in present) + f" on axis {axis}")
        out[axis] += v.shape[axis]
    return [(present[0].dtype, tuple(out))]


@_shape("Split")
def _s_split(op, ins, a, opset, nout):
    x = ins[0]
    axis = _axis(a.get("axis", 0), len(x.shape))
    n = x.shape[axis]
    if "split" in a:
        sizes = list(a["split"])
    elif len(ins) > 1 and ins[1] is not None:
        sizes = _ints(ins[1], "the split sizes")
    else:
        k = int(a.get("num_outputs", nout))
        step = -(-n // k)
        sizes = [min(step, n - i * step) for i in range(k)]
    if sum(sizes) != n:
        raise ValueError(f"split sizes {sizes} do not add up to {n}")
    outs = []
    for s in sizes:
        shape = list(x.shape)
        shape[axis] = s
        outs.append((x.dtype, tuple(shape)))
    return outs


def _slice_len(n: int, start: int, end: int, step: int) -> int:
    return len(range(*slice(start, end, step).indices(n)))


@_shape("Slice")
def _s_slice(op, ins, a, opset, nout):
    x = ins[0]
    r = len(x.shape)
    if opset < 10:
        starts, ends = list(a["starts"]), list(a["ends"])
        axes = list(a.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts = _ints(ins[1], "the slice starts")
        ends = _ints(ins[2], "the slice ends")
        axes = (_ints(ins[3], "the slice axes") if len(ins) > 3 and ins[3] is not None
                else list(range(len(starts))))
        steps = (_ints(ins[4], "the slice steps") if len(ins) > 4 and ins[4] is not None
                 else [1] * len(starts))
    out = list(x.shape)
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        if st == 0:
            raise ValueError("slice step 0")
        ax = _axis(ax, r)
        out[ax] = _slice_len(x.shape[ax], s, e, st)
    return [(x.dtype, tuple(out))]


@_shape("Gather")
def _s_gather(op, ins, a, opset, nout):
    x, idx = ins[0], ins[1]
    axis = _axis(a.get("axis", 0), len(x.shape))
    return [(x.dtype, (*x.shape[:axis], *idx.shape, *x.shape[axis + 1:]))]


@_shape("GatherElements")
def _s_gather_el(op, ins, a, opset, nout):
    return [(ins[0].dtype, ins[1].shape)]


@_shape("GatherND")
def _s_gather_nd(op, ins, a, opset, nout):
    x, idx = ins[0], ins[1]
    b = a.get("batch_dims", 0)
    k = idx.shape[-1]
    return [(x.dtype, (*idx.shape[:-1], *x.shape[b + k:]))]


@_shape("ScatterND", "ScatterElements")
def _s_scatter(op, ins, a, opset, nout):
    return [(ins[0].dtype, ins[0].shape)]


@_shape("Tile")
def _s_tile(op, ins, a, opset, nout):
    x = ins[0]
    reps = _ints(ins[1], "the repeats")
    return [(x.dtype, tuple(d * r for d, r in zip(x.shape, reps, strict=True)))]


@_shape("Pad")
def _s_pad(op, ins, a, opset, nout):
    x = ins[0]
    r = len(x.shape)
    pads = list(a["pads"]) if opset < 11 else _ints(ins[1], "the pads")
    axes = (_ints(ins[3], "the pad axes") if len(ins) > 3 and ins[3] is not None
            else list(range(r)))
    out = list(x.shape)
    n = len(axes)
    for i, ax in enumerate(axes):
        ax = _axis(ax, r)
        out[ax] += pads[i] + pads[i + n]
    return [(x.dtype, tuple(out))]


@_shape("ConstantOfShape")
def _s_const_of_shape(op, ins, a, opset, nout):
    shape = tuple(_ints(ins[0], "the shape"))
    dt = a["value"].data_type if "value" in a else TensorProto.FLOAT
    return [(dt, shape)]


@_shape("Range")
def _s_range(op, ins, a, opset, nout):
    start, limit, delta = (_need(v, "a Range bound").item() for v in ins[:3])
    n = max(math.ceil((limit - start) / delta), 0)
    return [(ins[0].dtype, (n,))]


@_shape("EyeLike")
def _s_eyelike(op, ins, a, opset, nout):
    return [(int(a.get("dtype", ins[0].dtype)), ins[0].shape)]


@_shape("OneHot")
def _s_onehot(op, ins, a, opset, nout):
    depth = int(_need(ins[1], "the depth").reshape(-1)[0])
    r = len(ins[0].shape) + 1
    axis = _axis(a.get("axis", -1), r)
    out = list(ins[0].shape)
    out.insert(axis, depth)
    return [(ins[2].dtype, tuple(out))]


@_shape("NonZero")
def _s_nonzero(op, ins, a, opset, nout):
    if ins[0].value is None:
        raise _Unknown("the output shape of NonZero depends on the data of its input, known "
                       "only at run time")
    v = ins[0].value
    return [(TensorProto.INT64, (v.ndim, int(np.count_nonzero(v))))]


@_shape("Compress")
def _s_compress(op, ins, a, opset, nout):
    if ins[1].value is None:
        raise _Unknown("the output shape of Compress depends on the data of its condition, "
                       "known only at run time")
    cond = ins[1].value
    x = ins[0]
    n = int(np.count_nonzero(cond))
    if "axis" not in a:
        return [(x.dtype, (n,))]
    out = list(x.shape)
    out[_axis(a["axis"], len(out))] = n
    return [(x.dtype, tuple(out))]


_REDUCE = ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
           "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")


@_shape(*_REDUCE)
def _s_reduce(op, ins, a, opset, nout):
    x = ins[0]
    r = len(x.shape)
    axes = _axes_input(ins, a, 1)
    keep = a.get("keepdims", 1)
    if not axes:
        if a.get("noop_with_empty_axes", 0):
            return [(x.dtype, x.shape)]
        axes = list(range(r))
    red = {_axis(ax, r) for ax in axes}
    out = [1 if i in red else d for i, d in enumerate(x.shape) if keep or i not in red]
    return [(x.dtype, tuple(out))]


@_shape("ArgMax", "ArgMin")
def _s_argmax(op, ins, a, opset, nout):
    x = ins[0]
    r = len(x.shape)
    ax = _axis(a.get("axis", 0), r)
    keep = a.get("keepdims", 1)
    out = [1 if i == ax else d for i, d in enumerate(x.shape) if keep or i != ax]
    return [(TensorProto.INT64, tuple(out))]


@_shape("TopK")
def _s_topk(op, ins, a, opset, nout):
    x = ins[0]
    k = int(a["k"]) if opset < 10 else int(_need(ins[1], "K").reshape(-1)[0])
    ax = _axis(a.get("axis", -1), len(x.shape))
    out = list(x.shape)
    out[ax] = k
    return [(x.dtype, tuple(out)), (TensorProto.INT64, tuple(out))]


@_shape("MatMul")
def _s_matmul(op, ins, a, opset, nout):
    return [(ins[0].dtype, matmul_shape(ins[0].shape, ins[1].shape))]


def matmul_shape(sa: tuple[int, ...], sb: tuple[int, ...]) -> tuple[int, ...]:
    """numpy.matmul's result shape (1-D operands promoted and the added axis removed)."""
    if not sa or not sb:
        raise ValueError("MatMul of a scalar")
    a2 = (1, *sa) if len(sa) == 1 else sa
    b2 = (*sb, 1) if len(sb) == 1 else sb
    if a2[-1] != b2[-2]:
        raise ValueError(f"MatMul of {list(sa)} by {list(sb)}: inner dimensions differ")
    batch = _bcast(a2[:-2], b2[:-2])
    out = [*batch, a2[-2], b2[-1]]
    if len(sb) == 1:
        out.pop(-1)
    if len(sa) == 1:
        out.pop(-2 if len(sb) > 1 else -1)
    return tuple(out)


@_shape("Gemm")
def _s_gemm(op, ins, a, opset, nout):
    sa, sb = ins[0].shape, ins[1].shape
    if len(sa) != 2 or len(sb) != 2:
        raise ValueError(f"Gemm operands {list(sa)} and {list(sb)} must be 2-D")
    m, k = (sa[1], sa[0]) if a.get("transA", 0) else sa
    k2, n = (sb[1], sb[0]) if a.get("transB", 0) else sb
    if k != k2:
        raise ValueError(f"Gemm of {list(sa)} by {list(sb)}: inner dimensions differ")
    return [(ins[0].dtype, (m, n))]


def einsum_dims(eq: str, shapes: list[tuple[int, ...]]) -> tuple[dict[str, int], str, list[str]]:
    """Letter sizes, output subscript and input subscripts of an einsum ('...' -> capitals)."""
    eq = eq.replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum '{eq}' has {len(terms)} operands, got {len(shapes)}")
    ell = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes, strict=True)
               if "..." in t), default=0)
    ell_letters = "".join(chr(ord("A") + i) for i in range(ell))
    sizes: dict[str, int] = {}
    expanded = []
    for t, s in zip(terms, shapes, strict=True):
        if "..." in t:
            n = len(s) - len(t.replace("...", ""))
            t = t.replace("...", ell_letters[ell - n:])
        if len(t) != len(s):
            raise ValueError(f"einsum term '{t}' does not match shape {list(s)}")
        for c, d in zip(t, s, strict=True):
            if sizes.get(c, 1) != 1 and d not in (1, sizes[c]):
                raise ValueError(f"einsum letter '{c}' is {sizes[c]} and {d}")
            sizes[c] = max(sizes.get(c, 1), d)
        expanded.append(t)
    if "->" in eq:
        out = rhs.replace("...", ell_letters)
    else:
        counts = {c: "".join(expanded).count(c) for c in sizes}
        out = ell_letters + "".join(sorted(c for c, k in counts.items()
                                           if k == 1 and c not in ell_letters))
    return sizes, out, expanded


@_shape("Einsum")
def _s_einsum(op, ins, a, opset, nout):
    eq = a["equation"]
    eq = eq.decode() if isinstance(eq, bytes) else eq
    sizes, out, _ = einsum_dims(eq, [v.shape for v in ins if v is not None])
    return [(ins[0].dtype, tuple(sizes[c] for c in out))]


def attention_dims(ins: list[Val | None], a: dict) -> dict[str, int]:
    """Shapes of an opset-23 Attention: batch, heads, kv_heads, q_len, kv_len (past + new),
    past, qk_dim, v_dim and whether the inputs are 3-D."""
    q, k, v = ins[0].shape, ins[1].shape, ins[2].shape
    past = ins[4].shape[2] if len(ins) > 4 and ins[4] is not None else 0
    if len(q) == 4:
        b, h, lq, dqk = q
        _, hkv, lkv, _ = k
        dv = v[3]
    elif len(q) == 3:
        h, hkv = int(a.get("q_num_heads", 0)), int(a.get("kv_num_heads", 0))
        if not h or not hkv:
            raise ValueError("3-D Attention needs q_num_heads and kv_num_heads")
        b, lq, qw = q
        lkv = k[1]
        dqk, dv = qw // h, v[2] // hkv
    else:
        raise ValueError(f"Attention Q of rank {len(q)}")
    return dict(batch=b, heads=h, kv_heads=hkv, q_len=lq, kv_len=past + lkv, past=past,
                qk_dim=dqk, v_dim=dv, rank=len(q))


@_shape("Attention")
def _s_attention(op, ins, a, opset, nout):
    d = attention_dims(ins, a)
    dt = ins[0].dtype
    if d["rank"] == 4:
        y = (d["batch"], d["heads"], d["q_len"], d["v_dim"])
    else:
        y = (d["batch"], d["q_len"], d["heads"] * d["v_dim"])
    pk = (d["batch"], d["kv_heads"], d["kv_len"], d["qk_dim"])
    pv = (d["batch"], d["kv_heads"], d["kv_len"], d["v_dim"])
    qk = (d["batch"], d["heads"], d["q_len"], d["kv_len"])
    return [(dt, y), (dt, pk), (dt, pv), (dt, qk)][:nout]


@_shape("LayerNormalization")
def _s_layernorm(op, ins, a, opset, nout):
    x = ins[0]
    r = len(x.shape)
    axis = _axis(a.get("axis", -1), r)
    stat = (*x.shape[:axis], *([1] * (r - axis)))
    st = int(a.get("stash_type", TensorProto.FLOAT))
    return [(x.dtype, x.shape), (st, stat), (st, stat)][:nout]


@_shape("BatchNormalization")
def _s_batchnorm(op, ins, a, opset, nout):
    x = ins[0]
    c = (x.shape[1],) if len(x.shape) > 1 else (1,)
    return [(x.dtype, x.shape), *[(x.dtype, c)] * (nout - 1)]


def _conv_pads(a: dict, spatial: int) -> list[int]:
    return list(a.get("pads", [0] * (2 * spatial)))


@_shape("Conv")
def _s_conv(op, ins, a, opset, nout):
    x, w = ins[0].shape, ins[1].shape
    sp = len(x) - 2
    k = list(a.get("kernel_shape", w[2:]))
    strides = list(a.get("strides", [1] * sp))
    dil = list(a.get("dilations", [1] * sp))
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    out = [x[0], w[0]]
    pads = _conv_pads(a, sp)
    for i in range(sp):
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-x[2 + i] // strides[i]))
        elif auto == "VALID":
            out.append((x[2 + i] - dil[i] * (k[i] - 1) - 1) // strides[i] + 1)
        else:
            out.append((x[2 + i] + pads[i] + pads[i + sp] - dil[i] * (k[i] - 1) - 1)
                       // strides[i] + 1)
    return [(ins[0].dtype, tuple(out))]


@_shape("ConvTranspose")
def _s_convt(op, ins, a, opset, nout):
    x, w = ins[0].shape, ins[1].shape
    sp = len(x) - 2
    group = a.get("group", 1)
    if "output_shape" in a:
        return [(ins[0].dtype, (x[0], w[1] * group, *a["output_shape"][-sp:]))]
    k = list(a.get("kernel_shape", w[2:]))
    strides = list(a.get("strides", [1] * sp))
    dil = list(a.get("dilations", [1] * sp))
    opad = list(a.get("output_padding", [0] * sp))
    pads = _conv_pads(a, sp)
    out = [x[0], w[1] * group]
    for i in range(sp):
        out.append(strides[i] * (x[2 + i] - 1) + opad[i] + (k[i] - 1) * dil[i] + 1
                   - pads[i] - pads[i + sp])
    return [(ins[0].dtype, tuple(out))]


# ---------------------------------------------------------------------------------------
# constant folding (numpy), for the ops shape arithmetic and masks are made of

def _np1(fn: Callable[..., np.ndarray]) -> Callable[..., list[np.ndarray]]:
    return lambda op, a, opset, *xs: [fn(*xs)]


for _name, _f in {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power,
    "Max": np.maximum, "Min": np.minimum, "Equal": np.equal, "Less": np.less,
    "LessOrEqual": np.less_equal, "Greater": np.greater, "GreaterOrEqual": np.greater_equal,
    "And": np.logical_and, "Or": np.logical_or, "Xor": np.logical_xor, "Not": np.logical_not,
    "Neg": np.negative, "Abs": np.abs, "Sqrt": np.sqrt, "Reciprocal": np.reciprocal,
    "Exp": np.exp, "Log": np.log, "Sin": np.sin, "Cos": np.cos, "Floor": np.floor,
    "Ceil": np.ceil, "Round": np.round, "Sign": np.sign, "IsNaN": np.isnan, "Tanh": np.tanh,
    "Identity": lambda x: x, "Where": np.where,
}.items():
    FOLD[_name] = _np1(_f)


@_fold("Div")
def _f_div(op, a, opset, x, y):
    if np.issubdtype(x.dtype, np.integer):
        return [np.trunc(np.true_divide(x, y)).astype(x.dtype)]
    return [np.true_divide(x, y)]


@_fold("Mod")
def _f_mod(op, a, opset, x, y):
    return [np.fmod(x, y) if a.get("fmod", 0) else np.mod(x, y)]


@_fold("Sigmoid")
def _f_sigmoid(op, a, opset, x):
    return [1.0 / (1.0 + np.exp(-x))]


@_fold("Erf")
def _f_erf(op, a, opset, x):
    return [np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype)]


@_fold("Relu")
def _f_relu(op, a, opset, x):
    return [np.maximum(x, 0)]


@_fold("IsInf")
def _f_isinf(op, a, opset, x):
    pos, neg = a.get("detect_positive", 1), a.get("detect_negative", 1)
    return [(np.isposinf(x) & bool(pos)) | (np.isneginf(x) & bool(neg))]


@_fold("Clip")
def _f_clip(op, a, opset, x, lo=None, hi=None):
    if opset < 11:
        lo, hi = a.get("min"), a.get("max")
    return [np.clip(x, lo if lo is not None else None, hi if hi is not None else None)]


@_fold("Cast")
def _f_cast(op, a, opset, x):
    return [x.astype(_np_dtype(int(a["to"])))]


@_fold("CastLike")
def _f_castlike(op, a, opset, x, y):
    return [x.astype(y.dtype)]


@_fold("Reshape")
def _f_reshape(op, a, opset, x, shape=None):
    target = list(a["shape"]) if shape is None else [int(s) for s in shape]
    return [x.reshape(_reshape(x.shape, target, bool(a.get("allowzero", 0))))]


@_fold("Flatten")
def _f_flatten(op, a, opset, x):
    axis = a.get("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    return [x.reshape(prod(x.shape[:axis]), prod(x.shape[axis:]))]


@_fold("Squeeze")
def _f_squeeze(op, a, opset, x, axes=None):
    ax = a.get("axes", None if axes is None else [int(v) for v in axes])
    return [np.squeeze(x, axis=tuple(ax)) if ax is not None else np.squeeze(x)]


@_fold("Unsqueeze")
def _f_unsqueeze(op, a, opset, x, axes=None):
    ax = list(a["axes"]) if axes is None else [int(v) for v in axes]
    r = x.ndim + len(ax)
    for p in sorted(v % r for v in ax):
        x = np.expand_dims(x, p)
    return [x]


@_fold("Transpose")
def _f_transpose(op, a, opset, x):
    return [np.transpose(x, a.get("perm"))]


@_fold("Expand")
def _f_expand(op, a, opset, x, shape):
    return [x * np.ones(tuple(int(s) for s in shape), dtype=x.dtype)]


@_fold("Concat")
def _f_concat(op, a, opset, *xs):
    return [np.concatenate(xs, axis=a["axis"])]


@_fold("Gather")
def _f_gather(op, a, opset, x, idx):
    return [np.take(x, idx, axis=a.get("axis", 0))]


@_fold("GatherElements")
def _f_gather_el(op, a, opset, x, idx):
    axis = a.get("axis", 0)
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return [np.take_along_axis(x, idx, axis=axis)]


@_fold("Slice")
def _f_slice(op, a, opset, x, starts=None, ends=None, axes=None, steps=None):
    if opset < 10:
        starts, ends, axes = a["starts"], a["ends"], a.get("axes")
    starts = [int(s) for s in starts]
    ends = [int(e) for e in ends]
    axes = list(range(len(starts))) if axes is None else [int(v) for v in axes]
    steps = [1] * len(starts) if steps is None else [int(v) for v in steps]
    sl = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        sl[ax % x.ndim] = slice(s, e, st)
    return [x[tuple(sl)]]


@_fold("Split")
def _f_split(op, a, opset, x, split=None):
    axis = a.get("axis", 0) % x.ndim
    n = x.shape[axis]
    if "split" in a:
        sizes = list(a["split"])
    elif split is not None:
        sizes = [int(s) for s in split]
    else:
        k = int(a["num_outputs"])
        step = -(-n // k)
        sizes = [min(step, n - i * step) for i in range(k)]
    return list(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


@_fold("Tile")
def _f_tile(op, a, opset, x, reps):
    return [np.tile(x, [int(r) for r in reps])]


@_fold("ConstantOfShape")
def _f_const_of_shape(op, a, opset, shape):
    fill = needed_array(a["value"], "its value") if "value" in a else np.zeros(1, np.float32)
    return [np.full(tuple(int(s) for s in shape), fill.reshape(-1)[0], dtype=fill.dtype)]


@_fold("Range")
def _f_range(op, a, opset, start, limit, delta):
    return [np.arange(start.item(), limit.item(), delta.item(), dtype=start.dtype)]


@_fold(*_REDUCE)
def _f_reduce(op, a, opset, x, axes=None):
    ax = a.get("axes", None if axes is None or axes.size == 0 else [int(v) for v in axes])
    if ax is None and a.get("noop_with_empty_axes", 0):
        return [x]
    keep = bool(a.get("keepdims", 1))
    axis = None if ax is None else tuple(ax)
    fn = {"ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max,
          "ReduceMin": np.min, "ReduceProd": np.prod}.get(op)
    if fn is None:
        raise _Unknown(f"{op} is not folded")
    return [fn(x, axis=axis, keepdims=keep)]


@_fold("CumSum")
def _f_cumsum(op, a, opset, x, axis):
    ax = int(axis.reshape(-1)[0])
    rev = bool(a.get("reverse", 0))
    y = np.flip(np.cumsum(np.flip(x, ax), axis=ax), ax) if rev else np.cumsum(x, axis=ax)
    if a.get("exclusive", 0):
        y = y - x
    return [y.astype(x.dtype)]


@_fold("NonZero")
def _f_nonzero(op, a, opset, x):
    return [np.array(np.nonzero(x), dtype=np.int64).reshape(x.ndim, -1)]


@_fold("Trilu")
def _f_trilu(op, a, opset, x, k=None):
    kk = int(k.reshape(-1)[0]) if k is not None else 0
    return [np.triu(x, kk) if a.get("upper", 1) else np.tril(x, kk)]


@_fold("ArgMax", "ArgMin")
def _f_argmax(op, a, opset, x):
    fn = np.argmax if op == "ArgMax" else np.argmin
    ax = a.get("axis", 0)
    y = fn(x, axis=ax)
    if a.get("keepdims", 1):
        y = np.expand_dims(y, ax)
    return [y.astype(np.int64)]


@_fold("ScatterND")
def _f_scatter_nd(op, a, opset, x, idx, upd):
    y = x.copy()
    for i in np.ndindex(idx.shape[:-1]):
        y[tuple(idx[i])] = upd[i]
    return [y]


@_fold("GatherND")
def _f_gather_nd(op, a, opset, x, idx):
    if a.get("batch_dims", 0):
        raise _Unknown("GatherND with batch_dims is not folded")
    out = np.empty((*idx.shape[:-1], *x.shape[idx.shape[-1]:]), dtype=x.dtype)
    for i in np.ndindex(idx.shape[:-1]):
        out[i] = x[tuple(idx[i])]
    return [out]
