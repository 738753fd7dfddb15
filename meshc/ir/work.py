"""What one graph op costs, independent of any hardware: MACs, vector work and bytes.

`Work` is the common currency of `meshc inspect`, the tiling pass and the reports. Op
counts per element come from the hardware cost model's table (meshc.hardware.op_costs),
which also prices plain and transcendental operations separately.
"""

from __future__ import annotations

from collections.abc import Mapping
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

from meshc.hardware.frozen import FrozenMap
from meshc.hardware.op_costs import ACTIVATIONS, OP_COSTS

# (plain ops, transcendental ops) per element, from the hardware cost model's one table
# (meshc/hardware/op_costs.py, which says why each entry is what it is).
ACTIVATION_OPS: Mapping[str, tuple[int, int]] = FrozenMap({k: OP_COSTS[k] for k in ACTIVATIONS})
SOFTMAX_OPS = OP_COSTS["softmax"]


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
        return int(elt.width.data)
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


SCALE_BITS = 16  # a quantized weight's group scales are stored in bf16 (lower-quant)


def group_scale_bytes(elements: int, group: int, scale_bits: int = SCALE_BITS) -> int:
    """Bytes of the scales of `elements` quantized weights, one per `group` of them."""
    return (-(-elements // group) * scale_bits + 7) // 8
