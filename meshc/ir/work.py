"""What one graph op costs, independent of any hardware: MACs, vector work and bytes.

`Work` is the common currency of `meshc inspect`, the tiling pass and the reports. The
per-element operation counts below are properties of the math, not of the silicon; the
hardware cost model prices plain and transcendental operations separately.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from math import prod

from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    TensorType,
)
from xdsl.ir import Attribute

# (plain ops, transcendental ops) per element of the activation's output.
# relu: one max. gelu (erf form): erf + ~6 mul/add. gelu_tanh: tanh + ~7 mul/add.
# silu: x * sigmoid(x) = exp + add + reciprocal-as-divide + mul. The gated form
# (SwiGLU/GeGLU) adds one multiply by the up projection.
ACTIVATION_OPS: dict[str, tuple[int, int]] = {
    "relu": (1, 0),
    "gelu": (6, 1),
    "gelu_tanh": (7, 1),
    "silu": (3, 1),
    "sigmoid": (2, 1),
}
# softmax per element: max, subtract, sum, divide (+ exp as transcendental).
SOFTMAX_OPS = (4, 1)


@dataclass(frozen=True)
class Work:
    """Work and traffic of one op. All fields are integers; bytes at stored precision."""

    macs: int = 0  # every matrix-multiply MAC
    linear_macs: int = 0  # activation x weight
    attention_macs: int = 0  # QK^T and PV (and batched act x act matmuls)
    vector_ops: int = 0  # plain elementwise / reduction ops
    transcendental_ops: int = 0  # exp, erf, tanh, rsqrt ...
    weight_bytes: int = 0  # parameters this op defines (only tfm.weight)
    kv_read_bytes: int = 0  # KV cache read from memory
    kv_write_bytes: int = 0  # KV cache written to memory
    in_bytes: int = 0  # activation bytes read
    out_bytes: int = 0  # activation bytes written

    def __add__(self, other: Work) -> Work:
        return Work(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.vector_ops + self.transcendental_ops


def element_bits(elt: Attribute) -> int:
    """Storage bits of one element of a builtin element type."""
    if isinstance(elt, IntegerType):
        return elt.width.data
    if isinstance(elt, BFloat16Type | Float16Type):
        return 16
    if isinstance(elt, Float32Type):
        return 32
    if isinstance(elt, Float64Type):
        return 64
    name = str(elt)
    if name.startswith("f8"):
        return 8
    if name.startswith("f4"):
        return 4
    raise ValueError(f"unsupported element type {name}")


def precision_name(elt: Attribute) -> str:
    """meshc's precision name of an element type: f32, bf16, f16, fp8, int8, int4."""
    if isinstance(elt, IntegerType):
        return f"int{elt.width.data}"
    if isinstance(elt, BFloat16Type):
        return "bf16"
    if isinstance(elt, Float16Type):
        return "f16"
    if isinstance(elt, Float32Type):
        return "f32"
    if str(elt).startswith("f8"):
        return "fp8"
    raise ValueError(f"unsupported element type {elt}")


def numel(t: Attribute) -> int:
    assert isinstance(t, TensorType)
    return prod(t.get_shape())


def tensor_bytes(t: Attribute) -> int:
    """Bytes of a tensor at its element type, rounded up to whole bytes."""
    assert isinstance(t, TensorType)
    return (numel(t) * element_bits(t.element_type) + 7) // 8
