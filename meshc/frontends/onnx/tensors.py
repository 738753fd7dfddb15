"""ONNX tensors (initializers, `Constant` values, attribute tensors) read from the bytes of
the model only.

A tensor whose data is external (`data_location: EXTERNAL` or `external_data` entries) is
never opened, and one that stores no data at all (a shape-only initializer, as in Stream's
workloads) is read the same way: meshc needs a weight's shape and type, never its data, and
a value that shapes the graph must be stored inline (`needed_array` names it otherwise).
Every tensor is checked before anything decodes it: a known element type, dimensions within
`--limit dim`, and stored data whose length matches its dimensions (a 64x64 tensor holding
3 values is an error, not a guess; holding none, it is shape-only).
"""

from __future__ import annotations

from math import prod

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from meshc import limits
from meshc.errors import MeshcError

_BITS = {TensorProto.INT4: 4, TensorProto.UINT4: 4, TensorProto.FLOAT4E2M1: 4,
         **{getattr(TensorProto, n): b for n, b in (("INT2", 2), ("UINT2", 2),
                                                     ("FLOAT6E2M3", 6), ("FLOAT6E3M2", 6))
            if hasattr(TensorProto, n)}}
_PER_ENTRY = {4: 2, 2: 4}  # values packed into one int32_data entry (6-bit: one each)
_COMPLEX = (TensorProto.COMPLEX64, TensorProto.COMPLEX128)
KNOWN_TYPES = frozenset(TensorProto.DataType.values()) - {TensorProto.UNDEFINED}
MAX_RANK = 32  # numpy's limit is 64; transformer tensors have up to 6
REINLINE = "re-export the model with its values stored inside the .onnx file"


def type_name(dtype: int) -> str:
    return TensorProto.DataType.Name(dtype) if dtype in KNOWN_TYPES else f"element type {dtype}"


def is_external(t: TensorProto) -> bool:
    """Whether the tensor's data lives outside the model (a path meshc never opens)."""
    return t.data_location == TensorProto.EXTERNAL or len(t.external_data) > 0


def location(t: TensorProto) -> str:
    return next((e.value for e in t.external_data if e.key == "location"), "")


def _stored(t: TensorProto, n: int) -> tuple[int, int, str]:
    """(stored, needed, unit) of the inline data of a tensor of `n` elements."""
    if t.data_type == TensorProto.STRING:
        return len(t.string_data), n, "strings"
    if t.HasField("raw_data"):
        bits = _BITS.get(t.data_type) or 8 * onnx.helper.tensor_dtype_to_np_dtype(
            t.data_type).itemsize
        return len(t.raw_data), -(-n * bits // 8), "bytes"
    entries = getattr(t, onnx.helper.tensor_dtype_to_field(t.data_type))
    per = _PER_ENTRY.get(_BITS.get(t.data_type, 0), 1)
    return len(entries), -(-n // per) * (2 if t.data_type in _COMPLEX else 1), "values"


def has_no_data(t: TensorProto) -> bool:
    """Whether the tensor gives only its shape and type: elements, but no data at all."""
    if is_external(t) or t.data_type not in KNOWN_TYPES:
        return False
    stored, want, _ = _stored(t, prod(t.dims))
    return stored == 0 < want


def is_shape_only(t: TensorProto) -> bool:
    """Whether meshc has the tensor's shape and type but not its values (external or none)."""
    return is_external(t) or has_no_data(t)


def check_dims(dims: list[int] | tuple[int, ...], what: str) -> tuple[int, ...]:
    """The dims as a tuple, each and their product within `--limit dim`."""
    if len(dims) > MAX_RANK:
        raise MeshcError(f"{what} has {len(dims)} dimensions; meshc handles up to {MAX_RANK}")
    for d in dims:
        if d < 0:
            raise MeshcError(f"{what} has a negative dimension in {list(dims)}")
        limits.check("dim", d, f"{what} has a dimension of {d:,}")
    limits.check("dim", prod(dims), f"{what} of shape {list(dims)} has too many elements")
    return tuple(int(d) for d in dims)


def check_tensor(t: TensorProto, what: str) -> None:
    """Refuses a tensor meshc cannot read safely; never looks at external data."""
    if t.data_type not in KNOWN_TYPES:
        raise MeshcError(f"{what} has an unknown {type_name(t.data_type)}")
    n = prod(check_dims(list(t.dims), what))
    if t.HasField("segment"):
        raise MeshcError(f"{what} is stored in segments, which meshc does not read",
                         hint=REINLINE)
    if is_external(t):
        return
    stored, want, unit = _stored(t, n)
    if stored != want and stored:  # no data at all: shape-only, like external data
        raise MeshcError(f"{what} of shape {list(t.dims)} ({type_name(t.data_type)}) stores "
                         f"{stored:,} {unit} where its shape needs {want:,}")


def inline_array(t: TensorProto, what: str) -> np.ndarray | None:
    """The tensor's values, or None when it is shape-only (external data is never opened)."""
    check_tensor(t, what)
    if is_shape_only(t):
        return None
    try:
        return numpy_helper.to_array(t)
    except (ValueError, TypeError, KeyError) as e:
        raise MeshcError(f"{what} cannot be decoded: {e}") from None


def needed_array(t: TensorProto, what: str) -> np.ndarray:
    """The values of a tensor that shapes the graph: external data is an error."""
    v = inline_array(t, what)
    if v is None:
        raise MeshcError(f"{what} {missing_values(t)}: its values shape the graph",
                         hint=REINLINE)
    return v


def missing_values(t: TensorProto) -> str:
    """Why a shape-only tensor has no values, as the end of a sentence naming it."""
    if is_external(t):
        return (f"is stored in an external file ('{location(t)}'), and meshc never opens "
                "files named inside a model")
    return "stores only its shape and type, no data"
