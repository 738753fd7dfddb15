"""Constant folding with numpy: the values of the ops that shape arithmetic, masks and rope
tables are made of, computed at import time when every input is known. Each rule takes
(op, attributes, opset, *input values) and returns the output values; a rule that cannot
fold this node raises `Unknown`. fuse.py evaluates its candidate regions with these rules
too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from math import prod

import numpy as np

from meshc.frontends.onnx.ops import REDUCE
from meshc.frontends.onnx.tensors import needed_array
from meshc.frontends.onnx.values import (
    Array,
    Attrs,
    Unknown,
    np_dtype,
    register,
    reshape_shape,
    split_sizes,
)

FoldFn = Callable[..., list[Array]]  # (op, attrs, opset, *values) -> values
FOLD: dict[str, FoldFn] = {}


def constant_value(a: Attrs) -> Array:
    """The value of a Constant node."""
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


def erf(x: Array) -> Array:
    """math.erf elementwise, in float64 (numpy has no erf)."""
    out: Array = np.vectorize(math.erf, otypes=[np.float64])(x)
    return out


def _np1(fn: Callable[..., Array]) -> FoldFn:
    return lambda op, a, opset, *xs: [fn(*xs)]


_NUMPY: dict[str, Callable[..., Array]] = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power,
    "Max": np.maximum, "Min": np.minimum, "Equal": np.equal, "Less": np.less,
    "LessOrEqual": np.less_equal, "Greater": np.greater, "GreaterOrEqual": np.greater_equal,
    "And": np.logical_and, "Or": np.logical_or, "Xor": np.logical_xor, "Not": np.logical_not,
    "Neg": np.negative, "Abs": np.abs, "Sqrt": np.sqrt, "Reciprocal": np.reciprocal,
    "Exp": np.exp, "Log": np.log, "Sin": np.sin, "Cos": np.cos, "Floor": np.floor,
    "Ceil": np.ceil, "Round": np.round, "Sign": np.sign, "IsNaN": np.isnan, "Tanh": np.tanh,
    "Identity": lambda x: x, "Where": np.where,
}
FOLD.update({name: _np1(fn) for name, fn in _NUMPY.items()})


@register(FOLD, "Div")
def _f_div(op: str, a: Attrs, opset: int, x: Array, y: Array) -> list[Array]:
    if np.issubdtype(x.dtype, np.integer):
        return [np.trunc(np.true_divide(x, y)).astype(x.dtype)]
    return [np.true_divide(x, y)]


@register(FOLD, "Mod")
def _f_mod(op: str, a: Attrs, opset: int, x: Array, y: Array) -> list[Array]:
    return [np.fmod(x, y) if a.get("fmod", 0) else np.mod(x, y)]


@register(FOLD, "Sigmoid")
def _f_sigmoid(op: str, a: Attrs, opset: int, x: Array) -> list[Array]:
    return [1.0 / (1.0 + np.exp(-x))]


@register(FOLD, "Erf")
def _f_erf(op: str, a: Attrs, opset: int, x: Array) -> list[Array]:
    return [erf(x).astype(x.dtype)]


@register(FOLD, "Relu")
def _f_relu(op: str, a: Attrs, opset: int, x: Array) -> list[Array]:
    return [np.maximum(x, 0)]


@register(FOLD, "IsInf")
def _f_isinf(op: str, a: Attrs, opset: int, x: Array) -> list[Array]:
    pos, neg = a.get("detect_positive", 1), a.get("detect_negative", 1)
    return [(np.isposinf(x) & bool(pos)) | (np.isneginf(x) & bool(neg))]


@register(FOLD, "Clip")
def _f_clip(op: str, a: Attrs, opset: int, x: Array, lo: Array | None = None,
            hi: Array | None = None) -> list[Array]:
    if opset < 11:
        lo, hi = a.get("min"), a.get("max")
    return [np.clip(x, lo, hi)]


@register(FOLD, "Cast")
def _f_cast(op: str, a: Attrs, opset: int, x: Array) -> list[Array]:
    return [x.astype(np_dtype(int(a["to"])))]


@register(FOLD, "CastLike")
def _f_castlike(op: str, a: Attrs, opset: int, x: Array, y: Array) -> list[Array]:
    return [x.astype(y.dtype)]


@register(FOLD, "Reshape")
def _f_reshape(op: str, a: Attrs, opset: int, x: Array, shape: Array | None = None
               ) -> list[Array]:
    target = list(a["shape"]) if shape is None else [int(s) for s in shape]
    return [x.reshape(reshape_shape(x.shape, target, bool(a.get("allowzero", 0))))]


@register(FOLD, "Flatten")
def _f_flatten(op: str, a: Attrs, opset: int, x: Array) -> list[Array]:
    axis = a.get("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    return [x.reshape(prod(x.shape[:axis]), prod(x.shape[axis:]))]


@register(FOLD, "Squeeze")
def _f_squeeze(op: str, a: Attrs, opset: int, x: Array, axes: Array | None = None
               ) -> list[Array]:
    ax = a.get("axes", None if axes is None else [int(v) for v in axes])
    return [np.squeeze(x, axis=tuple(ax)) if ax is not None else np.squeeze(x)]


@register(FOLD, "Unsqueeze")
def _f_unsqueeze(op: str, a: Attrs, opset: int, x: Array, axes: Array | None = None
                 ) -> list[Array]:
    ax = list(a["axes"]) if axes is None else [int(v) for v in axes]
    r = x.ndim + len(ax)
    for p in sorted(v % r for v in ax):
        x = np.expand_dims(x, p)
    return [x]


@register(FOLD, "Transpose")
def _f_transpose(op: str, a: Attrs, opset: int, x: Array) -> list[Array]:
    return [np.transpose(x, a.get("perm"))]


@register(FOLD, "Expand")
def _f_expand(op: str, a: Attrs, opset: int, x: Array, shape: Array) -> list[Array]:
    return [x * np.ones(tuple(int(s) for s in shape), dtype=x.dtype)]


@register(FOLD, "Concat")
def _f_concat(op: str, a: Attrs, opset: int, *xs: Array) -> list[Array]:
    return [np.concatenate(xs, axis=a["axis"])]


@register(FOLD, "Gather")
def _f_gather(op: str, a: Attrs, opset: int, x: Array, idx: Array) -> list[Array]:
    return [np.take(x, idx, axis=a.get("axis", 0))]


@register(FOLD, "GatherElements")
def _f_gather_el(op: str, a: Attrs, opset: int, x: Array, idx: Array) -> list[Array]:
    axis = a.get("axis", 0)
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return [np.take_along_axis(x, idx, axis=axis)]


@register(FOLD, "Slice")
def _f_slice(op: str, a: Attrs, opset: int, x: Array, starts: Array | None = None,
             ends: Array | None = None, axes: Array | None = None,
             steps: Array | None = None) -> list[Array]:
    if opset < 10:
        starts, ends, axes = a["starts"], a["ends"], a.get("axes")
    assert starts is not None and ends is not None  # the checker requires both
    first = [int(s) for s in starts]
    last = [int(e) for e in ends]
    along = list(range(len(first))) if axes is None else [int(v) for v in axes]
    by = [1] * len(first) if steps is None else [int(v) for v in steps]
    sl = [slice(None)] * x.ndim
    for s, e, ax, st in zip(first, last, along, by, strict=True):
        sl[ax % x.ndim] = slice(s, e, st)
    return [x[tuple(sl)]]


@register(FOLD, "Split")
def _f_split(op: str, a: Attrs, opset: int, x: Array, split: Array | None = None
             ) -> list[Array]:
    axis = a.get("axis", 0) % x.ndim
    if "split" in a:
        sizes = list(a["split"])
    elif split is not None:
        sizes = [int(s) for s in split]
    else:
        sizes = split_sizes(x.shape[axis], int(a["num_outputs"]))
    return list(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


@register(FOLD, "Tile")
def _f_tile(op: str, a: Attrs, opset: int, x: Array, reps: Array) -> list[Array]:
    return [np.tile(x, [int(r) for r in reps])]


@register(FOLD, "ConstantOfShape")
def _f_const_of_shape(op: str, a: Attrs, opset: int, shape: Array) -> list[Array]:
    fill = needed_array(a["value"], "its value") if "value" in a else np.zeros(1, np.float32)
    return [np.full(tuple(int(s) for s in shape), fill.reshape(-1)[0], dtype=fill.dtype)]


@register(FOLD, "Range")
def _f_range(op: str, a: Attrs, opset: int, start: Array, limit: Array, delta: Array
             ) -> list[Array]:
    return [np.arange(start.item(), limit.item(), delta.item(), dtype=start.dtype)]


_REDUCERS: dict[str, Callable[..., Array]] = {
    "ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMin": np.min,
    "ReduceProd": np.prod}


@register(FOLD, *REDUCE)
def _f_reduce(op: str, a: Attrs, opset: int, x: Array, axes: Array | None = None
              ) -> list[Array]:
    ax = a.get("axes", None if axes is None or axes.size == 0 else [int(v) for v in axes])
    if ax is None and a.get("noop_with_empty_axes", 0):
        return [x]
    fn = _REDUCERS.get(op)
    if fn is None:
        raise Unknown(f"{op} is not folded")
    return [fn(x, axis=None if ax is None else tuple(ax), keepdims=bool(a.get("keepdims", 1)))]


@register(FOLD, "CumSum")
def _f_cumsum(op: str, a: Attrs, opset: int, x: Array, axis: Array) -> list[Array]:
    ax = int(axis.reshape(-1)[0])
    rev = bool(a.get("reverse", 0))
    y = np.flip(np.cumsum(np.flip(x, ax), axis=ax), ax) if rev else np.cumsum(x, axis=ax)
    if a.get("exclusive", 0):
        y = y - x
    return [y.astype(x.dtype)]


@register(FOLD, "NonZero")
def _f_nonzero(op: str, a: Attrs, opset: int, x: Array) -> list[Array]:
    return [np.array(np.nonzero(x), dtype=np.int64).reshape(x.ndim, -1)]


@register(FOLD, "Trilu")
def _f_trilu(op: str, a: Attrs, opset: int, x: Array, k: Array | None = None) -> list[Array]:
    kk = int(k.reshape(-1)[0]) if k is not None else 0
    return [np.triu(x, kk) if a.get("upper", 1) else np.tril(x, kk)]


@register(FOLD, "ArgMax", "ArgMin")
def _f_argmax(op: str, a: Attrs, opset: int, x: Array) -> list[Array]:
    fn = np.argmax if op == "ArgMax" else np.argmin
    ax = a.get("axis", 0)
    y = np.asarray(fn(x, axis=ax))
    if a.get("keepdims", 1):
        y = np.expand_dims(y, ax)
    return [y.astype(np.int64)]


@register(FOLD, "ScatterND")
def _f_scatter_nd(op: str, a: Attrs, opset: int, x: Array, idx: Array, upd: Array
                  ) -> list[Array]:
    y = x.copy()
    for i in np.ndindex(idx.shape[:-1]):
        y[tuple(idx[i])] = upd[i]
    return [y]


@register(FOLD, "GatherND")
def _f_gather_nd(op: str, a: Attrs, opset: int, x: Array, idx: Array) -> list[Array]:
    if a.get("batch_dims", 0):
        raise Unknown("GatherND with batch_dims is not folded")
    out = np.empty((*idx.shape[:-1], *x.shape[idx.shape[-1]:]), dtype=x.dtype)
    for i in np.ndindex(idx.shape[:-1]):
        out[i] = x[tuple(idx[i])]
    return [out]
