"""What the importer knows about one ONNX value (`Val`), and the helpers the shape and fold
rules share to read their inputs.

Each value is one of four kinds: a graph `input`, a `weight` (a floating-point initializer
of more than one element, or a view of one: Transpose/Reshape/Cast ...), a `const` (value
known, or an initializer whose data is absent) and an `act` (computed at run time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto

from meshc.frontends.onnx.tensors import REINLINE

INPUT, WEIGHT, CONST, ACT = "input", "weight", "const", "act"
FOLD_LIMIT = 1 << 20  # largest tensor (elements) evaluated at import time
FLOAT_TYPES = frozenset({
    TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE,
    TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2,
    TensorProto.FLOAT8E5M2FNUZ, *([TensorProto.FLOAT4E2M1] if hasattr(TensorProto,
                                                                     "FLOAT4E2M1") else []),
})

Array = npt.NDArray[Any]
Attrs = Mapping[str, Any]  # a node's attributes as reader.attrs gives them
Shape = tuple[int, ...]
Spec = tuple[int, Shape]  # an output's ONNX element type and shape


@dataclass(eq=False)
class Val:
    """What the importer knows about one ONNX value."""

    name: str
    dtype: int
    shape: Shape
    kind: str
    value: Array | None = None
    init: str | None = None  # weight: the initializer it views
    from_weight: bool = False  # act: data moved out of a weight (e.g. MoE expert gather)
    missing: str = ""  # const without a value: why (tensors.missing_values)

    @property
    def numel(self) -> int:
        return prod(self.shape)

    @property
    def known(self) -> bool:
        return self.value is not None


Ins = Sequence[Val | None]  # a node's inputs, None where an optional one is left out
ShapeFn = Callable[[str, Ins, Attrs, int, int], list[Spec]]  # (op, ins, attrs, opset, nout)
F = TypeVar("F", bound=Callable[..., Any])


class Unknown(Exception):
    """A value needed to compute a shape is not known at import time."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def np_dtype(t: int) -> np.dtype[Any]:
    return onnx.helper.tensor_dtype_to_np_dtype(t)


def dtype_of(v: Array) -> int:
    return int(onnx.helper.np_dtype_to_tensor_dtype(v.dtype))


def arg(ins: Ins, k: int) -> Val:
    """Input k, which the op requires."""
    v = ins[k] if k < len(ins) else None
    if v is None:
        raise ValueError(f"input {k} is missing")
    return v


def opt(ins: Ins, k: int) -> Val | None:
    """Optional input k: None when left out."""
    return ins[k] if k < len(ins) else None


def need(v: Val | None, what: str) -> Array:
    """The value of v, which this shape depends on."""
    if v is None:
        raise Unknown(f"{what} is missing")
    if v.value is None:
        if v.kind == CONST:  # only a shape-only initializer (external or no data) has none
            raise Unknown(f"{what} (initializer '{v.name}') {v.missing}", REINLINE)
        raise Unknown(f"{what} ('{v.name}') is computed at run time or lives in external "
                      "data")
    return v.value


def ints(v: Val | None, what: str) -> list[int]:
    return [int(x) for x in np.asarray(need(v, what)).reshape(-1)]


def axes_input(ins: Ins, a: Attrs, k: int) -> list[int] | None:
    """The axes of Squeeze/Unsqueeze/Reduce*: an attribute (old opsets) or input k."""
    if "axes" in a:
        return list(a["axes"])
    v = opt(ins, k)
    return ints(v, "the axes") if v is not None else None


def axis_of(axis: int, rank: int) -> int:
    """An axis attribute in [0, rank), range-checked."""
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def bcast(*shapes: Shape) -> Shape:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError("cannot broadcast shapes " + ", ".join(
            str(list(s)) for s in shapes)) from None


def reshape_shape(shape: Shape, target: list[int], allowzero: bool) -> Shape:
    """ONNX Reshape's result: 0 copies the input axis (unless allowzero), one -1 is
    inferred."""
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


def split_sizes(n: int, k: int) -> list[int]:
    """Split into k parts without explicit sizes: equal, the last one smaller."""
    step = -(-n // k)
    return [min(step, n - i * step) for i in range(k)]


def register(table: dict[str, F], *ops: str) -> Callable[[F], F]:
    """A decorator entering its function in `table` under each op name."""
    def deco(fn: F) -> F:
        for o in ops:
            table[o] = fn
        return fn
    return deco
