"""Shape rules of the elementwise and data-movement ops: each gives a node's output element
types and shapes from its inputs (values too where a shape depends on them: a Reshape
target, Slice bounds). A rule raises `Unknown` when a value it needs is not known at import
time, and ValueError when the node is inconsistent. The compute ops' rules are in
shapes_compute.py; `SHAPES` holds both.
"""

from __future__ import annotations

import math
from math import prod

import numpy as np
from onnx import TensorProto

from meshc.frontends.onnx import shapes_compute
from meshc.frontends.onnx.ops import ELEMENTWISE
from meshc.frontends.onnx.values import (
    Array,
    Attrs,
    Ins,
    ShapeFn,
    Spec,
    Unknown,
    Val,
    arg,
    axes_input,
    axis_of,
    bcast,
    ints,
    need,
    opt,
    register,
    reshape_shape,
    split_sizes,
)

RULES: dict[str, ShapeFn] = {}

_BOOL_OUT = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor",
             "Not", "IsNaN", "IsInf"}
_BINARY = ("Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean", "Equal",
           "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "BitShift",
           "BitwiseAnd", "BitwiseOr", "BitwiseXor", "PRelu")
_UNARY_SAME = (ELEMENTWISE - {*_BINARY, "Where", "QuantizeLinear", "DequantizeLinear"}) | {
    "Identity", "Softmax", "LogSoftmax", "Hardmax", "CumSum", "RotaryEmbedding",
    "RMSNormalization", "InstanceNormalization", "GroupNormalization"}


@register(RULES, *_UNARY_SAME)
def _s_unary(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    return [(TensorProto.BOOL if op in _BOOL_OUT else x.dtype, x.shape)]


@register(RULES, *_BINARY)
def _s_binary(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    present = [v for v in ins if v is not None]
    shape = bcast(*(v.shape for v in present))
    return [(TensorProto.BOOL if op in _BOOL_OUT else present[0].dtype, shape)]


@register(RULES, "Where")
def _s_where(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    return [(arg(ins, 1).dtype, bcast(*(arg(ins, k).shape for k in range(3))))]


@register(RULES, "Clip")
def _s_clip(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    return [(arg(ins, 0).dtype, arg(ins, 0).shape)]


@register(RULES, "Dropout")
def _s_dropout(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    return [(x.dtype, x.shape), (TensorProto.BOOL, x.shape)][:nout]


@register(RULES, "Cast")
def _s_cast(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    return [(int(a["to"]), arg(ins, 0).shape)]


@register(RULES, "CastLike")
def _s_castlike(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    return [(arg(ins, 1).dtype, arg(ins, 0).shape)]


@register(RULES, "QuantizeLinear")
def _s_quant(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    zero = opt(ins, 2)
    dt = zero.dtype if zero is not None else int(a.get("output_dtype", 0)) or TensorProto.UINT8
    return [(dt, arg(ins, 0).shape)]


@register(RULES, "DequantizeLinear")
def _s_dequant(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    dt = int(a.get("output_dtype", 0)) or arg(ins, 1).dtype
    return [(dt, arg(ins, 0).shape)]


@register(RULES, "Reshape")
def _s_reshape(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    old = opset < 5 and "shape" in a
    target = list(a["shape"]) if old else ints(opt(ins, 1), "the target shape")
    return [(x.dtype, reshape_shape(x.shape, target, bool(a.get("allowzero", 0))))]


@register(RULES, "Flatten")
def _s_flatten(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    axis = a.get("axis", 1)
    axis = axis + len(x.shape) if axis < 0 else axis
    return [(x.dtype, (prod(x.shape[:axis]), prod(x.shape[axis:])))]


@register(RULES, "Squeeze")
def _s_squeeze(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    axes = axes_input(ins, a, 1)
    if axes is None:
        keep = [d for d in x.shape if d != 1]
    else:
        drop = {axis_of(ax, len(x.shape)) for ax in axes}
        for d in drop:
            if x.shape[d] != 1:
                raise ValueError(f"cannot squeeze axis {d} of size {x.shape[d]}")
        keep = [d for i, d in enumerate(x.shape) if i not in drop]
    return [(x.dtype, tuple(keep))]


@register(RULES, "Unsqueeze")
def _s_unsqueeze(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    axes = axes_input(ins, a, 1)
    if axes is None:
        raise ValueError("Unsqueeze without axes")
    r = len(x.shape) + len(axes)
    out = list(x.shape)
    for p in sorted(axis_of(ax, r) for ax in axes):
        out.insert(p, 1)
    return [(x.dtype, tuple(out))]


@register(RULES, "Transpose")
def _s_transpose(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    perm = list(a.get("perm", range(len(x.shape) - 1, -1, -1)))
    if sorted(perm) != list(range(len(x.shape))):
        raise ValueError(f"perm {perm} does not match rank {len(x.shape)}")
    return [(x.dtype, tuple(x.shape[p] for p in perm))]


@register(RULES, "Expand")
def _s_expand(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    return [(x.dtype, bcast(x.shape, tuple(ints(opt(ins, 1), "the target shape"))))]


@register(RULES, "Concat")
def _s_concat(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    present = [v for v in ins if v is not None]
    first = present[0].shape
    r = len(first)
    axis = axis_of(a["axis"], r)
    out = list(first)
    out[axis] = 0
    for v in present:
        if len(v.shape) != r or any(v.shape[i] != first[i] for i in range(r) if i != axis):
            raise ValueError("cannot concatenate " + ", ".join(
                str(list(p.shape)) for p in present) + f" on axis {axis}")
        out[axis] += v.shape[axis]
    return [(present[0].dtype, tuple(out))]


@register(RULES, "Split")
def _s_split(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    axis = axis_of(a.get("axis", 0), len(x.shape))
    n = x.shape[axis]
    given = opt(ins, 1)
    if "split" in a:
        sizes = list(a["split"])
    elif given is not None:
        sizes = ints(given, "the split sizes")
    else:
        sizes = split_sizes(n, int(a.get("num_outputs", nout)))
    if sum(sizes) != n:
        raise ValueError(f"split sizes {sizes} do not add up to {n}")
    return [(x.dtype, (*x.shape[:axis], s, *x.shape[axis + 1:])) for s in sizes]


@register(RULES, "Slice")
def _s_slice(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    if opset < 10:
        starts, ends = list(a["starts"]), list(a["ends"])
        axes = list(a.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts = ints(opt(ins, 1), "the slice starts")
        ends = ints(opt(ins, 2), "the slice ends")
        given_axes, given_steps = opt(ins, 3), opt(ins, 4)
        axes = (ints(given_axes, "the slice axes") if given_axes is not None
                else list(range(len(starts))))
        steps = (ints(given_steps, "the slice steps") if given_steps is not None
                 else [1] * len(starts))
    out = list(x.shape)
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        if st == 0:
            raise ValueError("slice step 0")
        ax = axis_of(ax, len(x.shape))
        out[ax] = len(range(*slice(s, e, st).indices(x.shape[ax])))
    return [(x.dtype, tuple(out))]


@register(RULES, "Gather")
def _s_gather(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x, idx = arg(ins, 0), arg(ins, 1)
    axis = axis_of(a.get("axis", 0), len(x.shape))
    return [(x.dtype, (*x.shape[:axis], *idx.shape, *x.shape[axis + 1:]))]


@register(RULES, "GatherElements")
def _s_gather_el(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    return [(arg(ins, 0).dtype, arg(ins, 1).shape)]


@register(RULES, "GatherND")
def _s_gather_nd(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x, idx = arg(ins, 0), arg(ins, 1)
    b = a.get("batch_dims", 0)
    k = idx.shape[-1]
    return [(x.dtype, (*idx.shape[:-1], *x.shape[b + k:]))]


@register(RULES, "ScatterND", "ScatterElements")
def _s_scatter(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    return [(arg(ins, 0).dtype, arg(ins, 0).shape)]


@register(RULES, "Tile")
def _s_tile(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    reps = ints(opt(ins, 1), "the repeats")
    return [(x.dtype, tuple(d * r for d, r in zip(x.shape, reps, strict=True)))]


@register(RULES, "Pad")
def _s_pad(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    r = len(x.shape)
    pads = list(a["pads"]) if opset < 11 else ints(opt(ins, 1), "the pads")
    given_axes = opt(ins, 3)
    axes = ints(given_axes, "the pad axes") if given_axes is not None else list(range(r))
    out = list(x.shape)
    n = len(axes)
    for i, ax in enumerate(axes):
        out[axis_of(ax, r)] += pads[i] + pads[i + n]
    return [(x.dtype, tuple(out))]


@register(RULES, "ConstantOfShape")
def _s_const_of_shape(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    shape = tuple(ints(opt(ins, 0), "the shape"))
    dt = a["value"].data_type if "value" in a else TensorProto.FLOAT
    return [(dt, shape)]


@register(RULES, "Range")
def _s_range(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    start, limit, delta = (need(opt(ins, k), "a Range bound").item() for k in range(3))
    n = max(math.ceil((limit - start) / delta), 0)
    return [(arg(ins, 0).dtype, (n,))]


@register(RULES, "EyeLike")
def _s_eyelike(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    return [(int(a.get("dtype", x.dtype)), x.shape)]


@register(RULES, "OneHot")
def _s_onehot(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    depth = int(need(opt(ins, 1), "the depth").reshape(-1)[0])
    indices = arg(ins, 0)
    out = list(indices.shape)
    out.insert(axis_of(a.get("axis", -1), len(out) + 1), depth)
    return [(arg(ins, 2).dtype, tuple(out))]


def _data(v: Val, what: str) -> Array:
    if v.value is None:
        raise Unknown(f"the output shape of {what}, known only at run time")
    return v.value


@register(RULES, "NonZero")
def _s_nonzero(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    v = _data(arg(ins, 0), "NonZero depends on the data of its input")
    return [(TensorProto.INT64, (v.ndim, int(np.count_nonzero(v))))]


@register(RULES, "Compress")
def _s_compress(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    cond = _data(arg(ins, 1), "Compress depends on the data of its condition")
    x = arg(ins, 0)
    n = int(np.count_nonzero(cond))
    if "axis" not in a:
        return [(x.dtype, (n,))]
    out = list(x.shape)
    out[axis_of(a["axis"], len(out))] = n
    return [(x.dtype, tuple(out))]


SHAPES: dict[str, ShapeFn] = {**RULES, **shapes_compute.RULES}
