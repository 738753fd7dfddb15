"""The HBM capacity check of partition-attn-mlp: what must live in HBM (weights not resident
in SRAM, and the KV cache of the phase that holds the largest) against what the machine has.

It runs before tiling so that a model far too large for the machine is refused for that
reason, naming the real blocker (weights or KV cache, and which phase) and the levers, not
for the first tile that happens to miss a core's SRAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.dialects.builtin import ModuleOp, TensorType

from meshc.hardware.precision import precision_bits
from meshc.ir.graph import KvAppendOp, WeightOp
from meshc.ir.summary import kv_caches
from meshc.ir.work import element_bits, group_scale_bytes, numel, tensor_bytes
from meshc.passes._common import (
    functions,
    graph_ops,
    phase_name,
    quantized_operands,
    weight_bytes,
)
from meshc.passes.lower_quant import QUANTIZED
from meshc.units import fmt_bytes

# The quantized pipeline's formats (lower_quant.QUANTIZED): int4 weights in groups, int8 KV.
Q_WEIGHT_BITS = precision_bits(QUANTIZED["weights"])
Q_GROUP = QUANTIZED["group"]
Q_KV_BITS = precision_bits(QUANTIZED["kv"])


@dataclass(frozen=True, slots=True)
class PhaseCache:
    """The KV cache one phase holds whole: bytes now and at int8, batch x tokens."""

    phase: str
    bytes: int
    bytes_quantized: int
    batch: int
    tokens: int


def phase_caches(module: ModuleOp) -> list[PhaseCache]:
    """Per phase, the caches its functions hold (the step functions of one phase that
    split-stages made, run by one chip, add up)."""
    caches: dict[str, list[KvAppendOp]] = {}
    for f in functions(module):
        caches.setdefault(phase_name(f), []).extend(kv_caches(f))
    out = []
    for phase, ops in caches.items():
        if not ops:
            continue
        shapes = [tuple(c.result.type.get_shape()) for c in ops
                  if isinstance(c.result.type, TensorType)]
        batch, tokens = max((s[0], s[1]) for s in shapes) if shapes else (1, 1)
        out.append(PhaseCache(
            phase=phase, bytes=sum(tensor_bytes(c.result.type) for c in ops),
            bytes_quantized=sum(_narrowed(c.result.type, Q_KV_BITS) for c in ops),
            batch=batch, tokens=tokens))
    return out


def _narrowed(t: object, bits: int) -> int:
    """Bytes of tensor `t` stored at `bits` per element when it is wider."""
    assert isinstance(t, TensorType)
    if element_bits(t.element_type) <= bits:
        return tensor_bytes(t)
    return -(-prod(t.get_shape()) * bits // 8)


def int4_bytes(module: ModuleOp, weights: list[WeightOp]) -> int:
    """Bytes of `weights` once lower-quant stores those it quantizes at int4 g128."""
    quantized = {v for f in functions(module) for g in graph_ops(f)
                 for v in quantized_operands(g)}
    total = 0
    for w in weights:
        n = numel(w.result.type)
        if w.result in quantized and element_bits(w.result.type.element_type) > Q_WEIGHT_BITS:
            total += -(-n * Q_WEIGHT_BITS // 8) + group_scale_bytes(n, Q_GROUP)
        else:
            total += weight_bytes(w)
    return total


def hbm_overflow(module: ModuleOp, hw_name: str, capacity: int,
                 hbm_weights: list[WeightOp]) -> str | None:
    """The one-line reason HBM cannot hold the weights kept there plus the largest phase's
    KV cache, or None when it can. Weights are counted once per parameter (phases share
    them); the caches of two phases are not held at once."""
    weights = sum(weight_bytes(w) for w in hbm_weights)
    caches = phase_caches(module)
    kv = max(caches, key=lambda c: (c.bytes, c.phase), default=None)
    kv_bytes = kv.bytes if kv else 0
    if weights + kv_bytes <= capacity:
        return None
    parts = [f"{fmt_bytes(weights)} of weights not resident in SRAM"] if weights else []
    levers = []
    if weights > capacity:
        parts[0] += " (too much on their own)"
    if kv is not None and (weights <= capacity or kv_bytes > weights):
        length = {"decode": "--kv-len", "prefill": "--seq"}.get(kv.phase, "--seq or --kv-len")
        levers.append(f"a smaller --batch or {length} (the @{kv.phase} cache)")
    if kv is not None and kv_bytes:
        parts.append(f"{fmt_bytes(kv_bytes)} of KV cache for @{kv.phase} ({kv.batch:,} x "
                     f"{kv.tokens:,} tokens)")
    small = int4_bytes(module, hbm_weights) + (kv.bytes_quantized if kv else 0)
    if small < weights + kv_bytes:
        fits = "which fits" if small <= capacity else "still too much"
        levers.append(f"--pipeline quantized (int4 weights, int8 KV cache: "
                      f"{fmt_bytes(small)}, {fits})")
    levers.append("hardware with more HBM")
    return (f"{hw_name} has {fmt_bytes(capacity)} of HBM but must hold "
            f"{fmt_bytes(weights + kv_bytes)} there: {' and '.join(parts)}; use "
            + ", ".join(levers))
