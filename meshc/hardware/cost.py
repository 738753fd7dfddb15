"""Per-core cost and energy of tiles: pure numpy functions over arrays of tiles.

GEMM timing follows the analytical model of SCALE-Sim (Samajdar et al., "A Systematic
Methodology for Characterizing Scalability of DNN Accelerators using SCALE-Sim",
ISPASS 2020). A GEMM C[m,n] = A[m,k] B[k,n] maps onto an R x C array as
    output stationary:  S_R = m, S_C = n, T = k   (C stays in the PEs)
    weight stationary:  S_R = k, S_C = n, T = m   (B stays in the PEs)
and takes, per fold of the operands onto the array, 2R + C + T - 2 cycles (load/skew,
stream, drain), with ceil(S_R/R) * ceil(S_C/C) folds. Ragged tiles pay for the padded
array because R and C, not S_R and S_C, enter the per-fold time. A precision whose
macs_per_cycle differs from R*C streams T at that rate: ceil(T * R*C / macs) cycles.
A double-buffered core (CoreType.double_buffered) pays that in full for the first fold
only; each later fold's load hides behind the previous stream, costing max(stream, R).
The result is bounded below by the SRAM traffic the folds need over SRAM bytes/cycle.
docs/hardware.md writes the formulas out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from meshc.errors import MeshcError
from meshc.hardware.frozen import FrozenMap
from meshc.hardware.precision import precision_bits, wider_of

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from meshc.hardware.model import CoreType, Hardware

# (plain vector ops, transcendental ops) per element. exp, tanh, erf, reciprocal and rsqrt
# are transcendental (a special-function unit or LUT; 16/SM/clk vs 128 FMA on H100, notes
# 1.6), so SiLU and GELU cost more time and energy than ReLU, as on silicon.
ACTIVATION_OPS: Mapping[str, tuple[int, int]] = FrozenMap({
    "relu": (1, 0),        # max(x, 0)
    "gelu": (4, 1),        # 0.5*x*(1+erf(x/sqrt2)): scale, erf, +1, *x, *0.5
    "gelu_tanh": (8, 1),   # x*x, *x, *0.044715, +x, *sqrt(2/pi), tanh, +1, *x, *0.5
    "silu": (2, 2),        # x/(1+exp(-x)): exp (sign folds into its input scale), +1,
                           # reciprocal, *x
    "sigmoid": (1, 2),     # 1/(1+exp(-x)): exp, +1, reciprocal
    "exp": (0, 1),         # the exponential alone
    "softmax": (4, 1),     # per element: max-compare, -max, exp, +sum, *1/sum (the one
                           # reciprocal per row is negligible)
    "rsqrt": (0, 1),       # one special-function op
})

_OS, _WS = "output_stationary", "weight_stationary"


def _dims(m: ArrayLike, k: ArrayLike, n: ArrayLike) -> tuple[np.ndarray, ...]:
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=np.int64) for x in (m, k, n)))
    for name, a in zip("mkn", arrs, strict=True):
        if a.size and a.min() < 1:
            raise MeshcError(f"GEMM tile dimension {name} must be at least 1, got {a.min()}")
    return tuple(arrs)


def _cdiv(a: np.ndarray, b: int | np.ndarray) -> np.ndarray:
    return -(-a // b)


def _array_core(core: CoreType) -> None:
    if not core.can_gemm:
        raise MeshcError(f"core type {core.name!r} has no systolic array and cannot run GEMMs",
                         where=f"core_types.{core.name}")


def _exec(core: CoreType, precision: str, weight_precision: str | None) -> str:
    return core.exec_precision(wider_of(precision, weight_precision or precision))


def gemm_ideal_cycles(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType,
                      precision: str, *, weight_precision: str | None = None) -> np.ndarray:
    """ceil(m*k*n / MACs per cycle): the array never idle, no fill, drain or padding."""
    _array_core(core)
    m_, k_, n_ = _dims(m, k, n)
    macs = core.macs_per_cycle[_exec(core, precision, weight_precision)]
    return _cdiv(m_ * k_ * n_, macs)


def _folds(m: np.ndarray, k: np.ndarray, n: np.ndarray,
           core: CoreType) -> tuple[np.ndarray, np.ndarray]:
    """(fold count, streamed dimension T) for the core's dataflow."""
    rows, cols = core.array_rows, core.array_cols
    if core.dataflow == _OS:
        return _cdiv(m, rows) * _cdiv(n, cols), k
    return _cdiv(k, rows) * _cdiv(n, cols), m


def gemm_sram_bytes(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType,
                    precision: str, *, weight_precision: str | None = None) -> np.ndarray:
    """Bytes read and written in SRAM by one GEMM tile, counting each fold's re-reads.

    output stationary: A read once per column fold, B once per row fold, C written once.
    weight stationary: B read once, A once per column fold, C written once per fold over k
    and read back for accumulation on every fold but the first.
    Results are written at bf16 (f32 for f32 GEMMs): low-precision GEMMs dequantize.
    """
    _array_core(core)
    m_, k_, n_ = _dims(m, k, n)
    a_b = precision_bits(precision) / 8
    b_b = precision_bits(weight_precision or precision) / 8
    c_b = max(precision_bits(_exec(core, precision, weight_precision)), 16) / 8
    rows, cols = core.array_rows, core.array_cols
    col_folds = _cdiv(n_, cols)
    if core.dataflow == _OS:
        return (m_ * k_ * col_folds * a_b + k_ * n_ * _cdiv(m_, rows) * b_b
                + m_ * n_ * c_b)
    k_folds = _cdiv(k_, rows)
    return (k_ * n_ * b_b + m_ * k_ * col_folds * a_b
            + m_ * n_ * (2 * k_folds - 1) * c_b)


def gemm_cycles(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType, precision: str,
                *, weight_precision: str | None = None) -> np.ndarray:
    """Cycles of each GEMM tile on one core: SCALE-Sim folds with fill and drain, at the
    precision's MAC rate, never faster than the SRAM can feed the folds."""
    _array_core(core)
    m_, k_, n_ = _dims(m, k, n)
    rows, cols = core.array_rows, core.array_cols
    macs = core.macs_per_cycle[_exec(core, precision, weight_precision)]
    folds, t = _folds(m_, k_, n_, core)
    stream = _cdiv(t * (rows * cols), macs)
    fold = 2 * rows + cols - 2 + stream
    # double-buffered: only the first fold's load is exposed; later ones hide behind streams
    compute = (fold + (folds - 1) * np.maximum(stream, rows) if core.double_buffered
               else folds * fold)
    sram = gemm_sram_bytes(m_, k_, n_, core, precision, weight_precision=weight_precision)
    feed = np.ceil(sram / core.sram_bytes_per_cycle).astype(np.int64)
    return np.maximum(compute, feed)


def gemm_energy_pj(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType, precision: str,
                   hw: Hardware, *, weight_precision: str | None = None
                   ) -> dict[str, np.ndarray]:
    """Energy of each GEMM tile by component: "mac" (m*k*n MACs at the execution
    precision; padded PEs idle) and "sram" (gemm_sram_bytes at the core's macro size)."""
    _array_core(core)
    m_, k_, n_ = _dims(m, k, n)
    ex = _exec(core, precision, weight_precision)
    sram = gemm_sram_bytes(m_, k_, n_, core, precision, weight_precision=weight_precision)
    return {
        "mac": (m_ * k_ * n_).astype(np.float64) * hw.energy.pj_per_mac[ex],
        "sram": sram * hw.energy.sram_pj_per_byte_at(core.sram_macro_bytes),
    }


def vector_cycles(plain_ops: ArrayLike, transcendental_ops: ArrayLike,
                  core: CoreType) -> np.ndarray:
    """Cycles on the vector unit; plain and transcendental ops do not overlap (a
    conservative choice: overlapping them takes careful software pipelining)."""
    plain = np.asarray(plain_ops, dtype=np.int64)
    trans = np.asarray(transcendental_ops, dtype=np.int64)
    return (_cdiv(plain, core.vector_lanes)
            + np.ceil(trans / core.transcendental_per_cycle).astype(np.int64))


def vector_energy_pj(plain_ops: ArrayLike, transcendental_ops: ArrayLike,
                     hw: Hardware) -> dict[str, np.ndarray]:
    return {
        "vector": np.asarray(plain_ops, dtype=np.float64) * hw.energy.vector_pj_per_op,
        "transcendental": np.asarray(transcendental_ops, dtype=np.float64)
        * hw.energy.transcendental_pj_per_op,
    }


def activation_ops(kind: str, elements: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(plain, transcendental) op counts for an activation over `elements` values."""
    if kind not in ACTIVATION_OPS:
        raise MeshcError(f"unknown activation {kind!r}",
                         hint=f"known: {', '.join(sorted(ACTIVATION_OPS))}")
    plain, trans = ACTIVATION_OPS[kind]
    e = np.asarray(elements, dtype=np.int64)
    return e * plain, e * trans


def noc_energy_pj(nbytes: ArrayLike, hops: ArrayLike, hw: Hardware) -> np.ndarray:
    """Bytes moved times hops travelled times the NoC's pJ per byte-hop."""
    return (np.asarray(nbytes, dtype=np.float64) * np.asarray(hops, dtype=np.float64)
            * hw.noc.pj_per_byte_hop)


def hbm_energy_pj(nbytes: ArrayLike, hw: Hardware, stack: int | None = None) -> np.ndarray:
    """HBM bytes times 8 times pJ/bit of `stack`, or the bandwidth-weighted mean of all."""
    stacks = hw.hbm_stacks
    if not stacks:
        raise MeshcError(f"{hw.name} has no HBM: it keeps everything in SRAM", where="hbm")
    if stack is None:
        pj = sum(s.pj_per_bit * s.bytes_per_s for s in stacks) / hw.hbm_bytes_per_s
    elif 0 <= stack < len(stacks):
        pj = stacks[stack].pj_per_bit
    else:
        raise MeshcError(f"{hw.name} has no HBM stack {stack}",
                         where=f"hbm.stacks[{stack}]", hint=f"it has {len(stacks)}")
    return np.asarray(nbytes, dtype=np.float64) * 8 * pj


def static_energy_pj(seconds: ArrayLike, n_cores: ArrayLike, hw: Hardware) -> np.ndarray:
    """Leakage and clock power of `n_cores` cores over `seconds`."""
    return (np.asarray(seconds, dtype=np.float64) * np.asarray(n_cores, dtype=np.float64)
            * hw.energy.static_w_per_core * 1e12)

