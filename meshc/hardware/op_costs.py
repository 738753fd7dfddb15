"""Per-element vector work of every op class: the one table every consumer asks.

An entry is (plain ops, transcendental ops) per element of the op's output, counted as
what a vector unit executes. Plain ops are add, multiply, max/min, compare (one lane-op
each, a fused multiply-add counts as two). Transcendental ops are those a special-function
unit or LUT computes: exp, log, erf, tanh, sqrt, rsqrt and reciprocal (16 per SM per clock
against 128 FMA on H100, notes/hwnumbers.md 1.6; NVIDIA's MUFU also does RCP and RSQ), so
SiLU and GELU cost more time and energy than ReLU, as on silicon. Divisions are a
reciprocal then a multiply. A constant scale or negation folds into the next op's input
scale and is not counted. A norm's rsqrt is per row (ROW_OPS); softmax's one reciprocal
of the sum a row is neglected against its row of exps. Work outside these tables (a gated
activation's multiply by the up projection) is counted by the op that has it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from meshc.errors import MeshcError
from meshc.hardware.frozen import FrozenMap

OP_COSTS: Mapping[str, tuple[int, int]] = FrozenMap({
    # -- one special function or one plain op
    "elementwise": (1, 0),   # add, sub, mul, max, compare ... (ONNX elementwise default)
    "reduction": (1, 0),     # one add/max/min per input element
    "exp": (0, 1),
    "log": (0, 1),
    "tanh": (0, 1),
    "erf": (0, 1),
    "sqrt": (0, 1),
    "rsqrt": (0, 1),
    "reciprocal": (0, 1),
    # -- activations (tfm.activation kinds)
    "relu": (1, 0),          # max(x, 0)
    "gelu": (4, 1),          # 0.5*x*(1 + erf(x/sqrt2)): *1/sqrt2, erf, +1, *x, *0.5
    "gelu_tanh": (8, 1),     # 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715x^3))): x*x, *x,
                             # *0.044715, +x, *sqrt(2/pi), tanh, +1, *x, *0.5
    "silu": (2, 2),          # x/(1 + exp(-x)): exp (sign folded), +1, reciprocal, *x
    "sigmoid": (1, 2),       # 1/(1 + exp(-x)): exp, +1, reciprocal
    "softplus": (1, 2),      # log(1 + exp(x)): exp, +1, log
    # -- softmax over a row: max-compare, -max, exp, +sum, *1/sum (one reciprocal a row)
    "softmax": (4, 1),
    "log_softmax": (4, 1),   # max-compare, -max, exp, +sum, -log(sum) (one log a row)
    # attention scores: softmax plus the 1/sqrt(d) scale and the mask (one op each, fused
    # into one select-and-scale: counted once)
    "attention_score": (5, 1),
    # -- norms over the last axis (their rsqrt is per row: ROW_OPS)
    "rmsnorm": (4, 0),       # x*x, +sum, *rstd, *gamma
    "layernorm": (7, 0),     # +sum (mean), -mean, ^2, +sum (variance), *rstd, *gamma, +beta
    "batchnorm": (4, 0),     # inference, unfolded: -mean, *rstd (per channel), *gamma, +beta
    # -- rotary embedding with precomputed cos/sin tables: x*cos + rotate(x)*sin
    "rope": (3, 0),
})

# Work per row of the last axis (not per element).
ROW_OPS: Mapping[str, tuple[int, int]] = FrozenMap({
    "rmsnorm": (0, 1),       # rsqrt(mean + eps); the /d folds into eps's add
    "layernorm": (0, 1),     # rsqrt(var + eps)
})

ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "gelu_tanh", "silu", "sigmoid")


def per_element(kind: str) -> tuple[int, int]:
    """(plain, transcendental) ops per element of `kind`; unknown kinds are an error."""
    if kind not in OP_COSTS:
        raise MeshcError(f"unknown op class {kind!r} for vector costs",
                         hint=f"known: {', '.join(sorted(OP_COSTS))}")
    return OP_COSTS[kind]


def vector_ops(kind: str, elements: ArrayLike, rows: ArrayLike = 0) -> tuple[np.ndarray, np.ndarray]:
    """(plain, transcendental) op counts of `kind` over `elements` values in `rows` rows."""
    plain, trans = per_element(kind)
    row_plain, row_trans = ROW_OPS.get(kind, (0, 0))
    e = np.asarray(elements, dtype=np.int64)
    r = np.asarray(rows, dtype=np.int64)
    return e * plain + r * row_plain, e * trans + r * row_trans
