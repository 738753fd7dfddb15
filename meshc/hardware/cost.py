"""Per-core cost and energy of tiles: pure numpy functions over arrays of tiles.

GEMM timing is SCALE-Sim 3.0's (Samajdar et al., ISPASS 2020), checked cycle for cycle
against its release in tests/fidelity/test_scalesim.py. A GEMM C[m,n] = A[m,k] B[k,n]
maps onto an R x C array as
    output stationary:  S_R = m, S_C = n, T = k, load 0   (C accumulates in the PEs)
    weight stationary:  S_R = k, S_C = n, T = m, load R*  (B is held, A streams)
    input stationary:   S_R = k, S_C = m, T = n, load R*  (A is held, B streams)
with ceil(S_R/R) * ceil(S_C/C) folds of load + R + C - 2 + T cycles each (load the
stationary operand, skew in, stream, skew out) and folds * fold - 1 in all: SCALE-Sim
reports the index of the last cycle. *The load is R rows of C elements over a path of
fixed bytes per cycle (load_cycles): R cycles at the array's widest precision, SCALE-Sim's
figure, fewer for narrower stored operands (int4 weights: R/4 on a bf16 array). Ragged
tiles pay for the padded array because R and C, not S_R and S_C, enter the per-fold time.
A precision whose macs_per_cycle differs from R*C streams T at that rate:
ceil(T * R*C / macs) cycles.
A double-buffered core (CoreType.double_buffered) pays the first fold in full; each later
fold's load and skew overlap the previous fold's stream, so it costs max(stream, load):
short streams (decode GEMVs) still wait for the load, and output stationary, which
loads nothing, runs its folds back to back.
The result is bounded below by the SRAM traffic the folds need over SRAM bytes/cycle.
docs/hardware.md writes the formulas out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from meshc.errors import MeshcError
from meshc.hardware.precision import Precision, precision_bits, wider_of

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from meshc.hardware.model import CoreType, Hardware

_OS, _IS = "output_stationary", "input_stationary"  # anything else is weight stationary


def _dims(m: ArrayLike, k: ArrayLike, n: ArrayLike) -> tuple[NDArray[np.int64], ...]:
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=np.int64) for x in (m, k, n)))
    for name, a in zip("mkn", arrs, strict=True):
        if a.size and a.min() < 1:
            raise MeshcError(f"GEMM tile dimension {name} must be at least 1, got {a.min()}")
    return tuple(arrs)


def _cdiv(a: NDArray[np.int64], b: int | NDArray[np.int64]) -> NDArray[np.int64]:
    return -(-a // b)


def _array_core(core: CoreType) -> None:
    if not core.can_gemm:
        raise MeshcError(f"core type {core.name!r} has no systolic array and cannot run GEMMs",
                         where=f"core_types.{core.name}")


def _exec(core: CoreType, precision: str, weight_precision: str | None) -> Precision:
    return core.exec_precision(wider_of(precision, weight_precision or precision))


def gemm_ideal_cycles(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType,
                      precision: str, *, weight_precision: str | None = None
                      ) -> NDArray[np.int64]:
    """ceil(m*k*n / MACs per cycle): the array never idle, no fill, drain or padding."""
    _array_core(core)
    m_, k_, n_ = _dims(m, k, n)
    macs = core.macs_per_cycle[_exec(core, precision, weight_precision)]
    return _cdiv(m_ * k_ * n_, macs)


def load_bytes_per_cycle(core: CoreType) -> float:
    """The array's load path: weight_load_bytes_per_cycle, else one row of C elements of
    the widest precision it multiplies per cycle (TPU v1 shifts a 256 x 256 int8 tile in
    256 cycles, 256 B/cycle: Jouppi et al. ISCA 2017 sec. 2)."""
    if core.weight_load_bytes_per_cycle is not None:
        return core.weight_load_bytes_per_cycle
    return core.array_cols * max(map(precision_bits, core.macs_per_cycle)) / 8


def load_cycles(core: CoreType, bits: ArrayLike) -> NDArray[np.int64]:
    """Cycles to shift one fold's stationary operand, R x C elements stored at `bits`, into
    the array: R at the widest precision (SCALE-Sim's one row per cycle), R * bits / widest
    bits for narrower ones (a packed int4 row is a quarter of a bf16 one's bytes)."""
    fold_bytes = core.array_rows * core.array_cols * np.asarray(bits, dtype=np.float64) / 8
    return np.ceil(fold_bytes / load_bytes_per_cycle(core)).astype(np.int64)


def _folds(m: NDArray[np.int64], k: NDArray[np.int64], n: NDArray[np.int64], core: CoreType,
           a_bits: float, b_bits: ArrayLike
           ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(fold count, streamed dimension T, cycles to load a fold's stationary operand)."""
    rows, cols = core.array_rows, core.array_cols
    if core.dataflow == _OS:  # the outputs start at zero in the PEs: nothing to load
        return _cdiv(m, rows) * _cdiv(n, cols), k, np.zeros((), dtype=np.int64)
    if core.dataflow == _IS:  # A held as k x m; B's n columns stream
        return _cdiv(k, rows) * _cdiv(m, cols), n, load_cycles(core, a_bits)
    return _cdiv(k, rows) * _cdiv(n, cols), m, load_cycles(core, b_bits)


def gemm_sram_elements(m: ArrayLike, k: ArrayLike, n: ArrayLike,
                       core: CoreType) -> dict[str, np.ndarray]:
    """Elements each GEMM tile moves through SRAM, counting each fold's re-reads, as
    SCALE-Sim counts them: "a_read" and "b_read" (its ifmap and filter reads), "c_write"
    (its ofmap writes: once per fold over k for WS and IS, whose partial sums leave the
    array) and "c_read" (those partial sums read back to accumulate on every fold over k
    but the first; SCALE-Sim counts no ofmap reads). SCALE-Sim's extra R + C ofmap writes
    per output-stationary fold are left out: they count the padded fold's shape, not data.
    """
    _array_core(core)
    m_, k_, n_ = _dims(m, k, n)
    rows, cols = core.array_rows, core.array_cols
    a, b, c = m_ * k_, k_ * n_, m_ * n_
    if core.dataflow == _OS:
        return {"a_read": a * _cdiv(n_, cols), "b_read": b * _cdiv(m_, rows),
                "c_write": c, "c_read": np.zeros_like(c)}
    k_folds = _cdiv(k_, rows)
    if core.dataflow == _IS:  # A once; B once per fold over m (the array's columns)
        a_read, b_read = a, b * _cdiv(m_, cols)
    else:  # WS: B once; A once per fold over n
        a_read, b_read = a * _cdiv(n_, cols), b
    return {"a_read": a_read, "b_read": b_read, "c_write": c * k_folds,
            "c_read": c * (k_folds - 1)}


def result_bits(core: CoreType, precision: str, weight_precision: str | None = None) -> int:
    """Bits of a GEMM result and of its partial sums: the execution precision, at least 16
    (results are written at bf16, f32 for f32 GEMMs: low-precision GEMMs dequantize)."""
    return max(precision_bits(_exec(core, precision, weight_precision)), 16)


def gemm_sram_traffic(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType,
                      precision: str, *, weight_precision: str | None = None
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(read, write) SRAM bytes of one GEMM tile: gemm_sram_elements (each fold's re-reads)
    with A and B at their storage widths and C at result_bits."""
    e = gemm_sram_elements(m, k, n, core)
    a_bits = precision_bits(precision)
    b_bits = precision_bits(weight_precision or precision)
    c_bits = result_bits(core, precision, weight_precision)
    return ((e["a_read"] * a_bits + e["b_read"] * b_bits + e["c_read"] * c_bits) / 8,
            e["c_write"] * c_bits / 8)


def gemm_sram_bytes(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType,
                    precision: str, *, weight_precision: str | None = None
                    ) -> NDArray[np.float64]:
    """Bytes read and written in SRAM by one GEMM tile (gemm_sram_traffic, summed)."""
    read, write = gemm_sram_traffic(m, k, n, core, precision, weight_precision=weight_precision)
    return read + write


def gemm_cycles(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType, precision: str,
                *, weight_precision: str | None = None,
                stationary_bits: ArrayLike | None = None) -> NDArray[np.int64]:
    """Cycles of each GEMM tile on one core: SCALE-Sim folds with load, fill and drain, at
    the precision's MAC rate, never faster than the SRAM can feed the folds. The held
    operand loads at its stored width: A at `precision`, B at `stationary_bits` (default
    the bits of weight_precision, else of precision)."""
    _array_core(core)
    m_, k_, n_ = _dims(m, k, n)
    rows, cols = core.array_rows, core.array_cols
    macs = core.macs_per_cycle[_exec(core, precision, weight_precision)]
    b_bits = (precision_bits(weight_precision or precision) if stationary_bits is None
              else stationary_bits)
    folds, t, load = _folds(m_, k_, n_, core, precision_bits(precision), b_bits)
    stream = _cdiv(t * (rows * cols), macs)
    fold = load + rows + cols - 2 + stream
    # double-buffered: later folds' load and skew hide behind the previous stream, but a
    # stream shorter than the load still waits for it (a GEMV's, whose weights stream from
    # HBM at the same time: the op takes the longer of the two, mappers/costs.py)
    compute: NDArray[np.int64] = (fold + (folds - 1) * np.maximum(stream, load)
                                  if core.double_buffered else folds * fold) - 1
    # the -1 can undercut the ideal only on a 1x1 array (R + C - 2 = 0)
    compute = np.maximum(compute, _cdiv(m_ * k_ * n_, macs))
    sram = gemm_sram_bytes(m_, k_, n_, core, precision, weight_precision=weight_precision)
    feed = np.ceil(sram / core.sram_bytes_per_cycle).astype(np.int64)
    return np.maximum(compute, feed)


def gemm_energy_pj(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType, precision: str,
                   hw: Hardware, *, weight_precision: str | None = None
                   ) -> dict[str, np.ndarray]:
    """Energy of each GEMM tile, its operands already in SRAM, by component: "mac", "reg"
    and "sram" of tile_energy.gemm_energy_by_level (the one energy rule)."""
    from meshc.hardware.tile_energy import components, gemm_energy_by_level  # it imports us

    levels = gemm_energy_by_level(m, k, n, core, precision, hw, weight_precision=weight_precision)
    return {c: v for c, v in components(levels).items() if c != "hbm"}


def vector_cycles(plain_ops: ArrayLike, transcendental_ops: ArrayLike,
                  core: CoreType) -> NDArray[np.int64]:
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


def noc_energy_pj(nbytes: ArrayLike, hops: ArrayLike, hw: Hardware) -> np.ndarray:
    """Bytes moved times hops travelled times the NoC's pJ per byte-hop."""
    return (np.asarray(nbytes, dtype=np.float64) * np.asarray(hops, dtype=np.float64)
            * hw.noc.pj_per_byte_hop)


def static_energy_pj(seconds: ArrayLike, n_cores: ArrayLike, hw: Hardware) -> np.ndarray:
    """Leakage and clock power of `n_cores` cores over `seconds`."""
    return (np.asarray(seconds, dtype=np.float64) * np.asarray(n_cores, dtype=np.float64)
            * hw.energy.static_w_per_core * 1e12)

