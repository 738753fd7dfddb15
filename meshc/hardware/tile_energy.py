"""Energy of tiles on one core by memory level: the one rule `meshc hw cost` and the
simulator's ledger (sim/replay.py) both call.

Levels, innermost first (docs/hardware.md, "Energy"):
  mac              MACs x pJ/MAC at the execution precision (padding is gated, not charged)
  reg_weight       per-PE registers of B, A and the partial sums (core_energy.py), counted
  reg_input        as ZigZag 3.9.1 counts them: word accesses x pJ per access, a word being
  reg_accumulator  the register's port width; re-reading an unchanged word is free, so the
                   stationary operand costs one write and one read per element loaded, a
                   moving one a write and a read per MAC; partial sums that flow through the
                   PEs (weight and input stationary) cost 4 accesses per MAC (written in from
                   above, read and written by the MAC, read out below), ones that stay (output
                   stationary) 2 per MAC plus one read per output drained
  buf_input        per-PE operand buffers between SRAM and the MACs (core_energy.Buffer):
  buf_weight       what the SRAM sends the array (cost.gemm_sram_elements) is written in
  buf_accumulator  once; the array reads an element once per `macs_per_read` MACs (the
                   stationary operand: once per element loaded); partial sums are read and
                   written once per `macs_per_read` MACs; accesses are words of elements
  sram_read/write  cost.gemm_sram_elements: each fold's re-reads, as the array does them;
                   bytes read from off-chip memory are written into SRAM once, bytes written
                   off-chip are read from it once
  hbm_read/write   off-chip bytes x pJ/bit x 8, read and write energies of the stacks
                   weighted by their bandwidth (addresses interleave by bandwidth)
`components` folds them into the report's components (mac, reg, sram, hbm).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from meshc.hardware.cost import gemm_sram_elements, gemm_sram_traffic, result_bits
from meshc.hardware.precision import precision_bits, wider_of

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from meshc.hardware.core_energy import Buffer, Register
    from meshc.hardware.model import CoreType, Hardware

LEVELS = ("mac", "reg_weight", "reg_input", "reg_accumulator", "buf_input", "buf_weight",
          "buf_accumulator", "sram_read", "sram_write", "hbm_read", "hbm_write")
# per-PE registers and buffers are one component: the storage inside the array
COMPONENT = {"mac": "mac", "reg_weight": "reg", "reg_input": "reg", "reg_accumulator": "reg",
             "buf_input": "reg", "buf_weight": "reg", "buf_accumulator": "reg",
             "sram_read": "sram", "sram_write": "sram", "hbm_read": "hbm", "hbm_write": "hbm"}

_OS, _IS = "output_stationary", "input_stationary"
Arr = np.ndarray


def _f(x: ArrayLike) -> Arr:
    return np.asarray(x, dtype=np.float64)


def sram_pj_per_byte(core: CoreType, hw: Hardware) -> tuple[float, float]:
    """(read, write) pJ per byte of the core's SRAM: its own figures, else the node table
    at its macro size for both."""
    table = hw.energy.sram_pj_per_byte_at(core.sram_macro_bytes)
    e = core.energy
    return (e.sram_read_pj_per_byte or table, e.sram_write_pj_per_byte or table)


def offchip_pj_per_byte(hw: Hardware) -> tuple[float, float]:
    """(read, write) pJ per byte of off-chip memory, bandwidth-weighted over the stacks;
    (0, 0) for a machine without any (nothing is ever moved there)."""
    stacks = hw.hbm_stacks
    if not stacks:
        return 0.0, 0.0
    bw = hw.hbm_bytes_per_s
    return (8 * sum(s.pj_per_bit * s.bytes_per_s for s in stacks) / bw,
            8 * sum(s.write_pj * s.bytes_per_s for s in stacks) / bw)


def _reg_pj(reg: Register | None, bits: int, writes: Arr, reads: Arr) -> Arr:
    """Element writes and reads of a register as word accesses times their energy."""
    if reg is None:
        return np.zeros_like(writes, dtype=np.float64)
    words = -(-bits // reg.word_bits)
    return words * (writes * reg.write_pj + reads * reg.read_pj)


def _registers(m: Arr, k: Arr, n: Arr, tiles: Arr, macs: Arr, core: CoreType,
               bits: tuple[int, int, int]) -> dict[str, Arr]:
    e, (a_bits, b_bits, c_bits) = core.energy, bits
    df = core.dataflow
    held_b = tiles * k * n  # elements loaded into the stationary registers
    held_a = tiles * m * k
    w = held_b if df not in (_OS, _IS) else macs  # stationary: once per load; moving: per MAC
    a = held_a if df == _IS else macs
    # partial sums flow through the PEs (4 accesses per MAC) unless they stay (OS: 2 per MAC
    # plus one read per output drained)
    if df == _OS:
        acc_w, acc_r = macs, macs + tiles * m * n
    else:
        acc_w, acc_r = 2 * macs, 2 * macs
    return {"reg_weight": _reg_pj(e.weight_register, b_bits, w, w),
            "reg_input": _reg_pj(e.input_register, a_bits, a, a),
            "reg_accumulator": _reg_pj(e.accumulator, c_bits, acc_w, acc_r)}


def _buf_pj(buf: Buffer | None, bits: int, writes: Arr, reads: Arr) -> Arr:
    """Element writes and reads of a buffer as word accesses (words carry as many elements
    as fit) times their energy."""
    if buf is None:
        return np.zeros_like(writes, dtype=np.float64)
    words = bits / buf.word_bits if bits <= buf.word_bits else -(-bits // buf.word_bits)
    return words * (writes * buf.write_pj + reads * buf.read_pj)


def _buffers(m: Arr, k: Arr, n: Arr, tiles: Arr, macs: Arr, core: CoreType,
             bits: tuple[int, int, int]) -> dict[str, Arr]:
    e, (a_bits, b_bits, c_bits) = core.energy, bits
    zero = np.zeros_like(macs)
    if e.input_buffer is None and e.weight_buffer is None and e.accumulation_buffer is None:
        return {"buf_input": zero, "buf_weight": zero, "buf_accumulator": zero}
    sent = gemm_sram_elements(m, k, n, core)
    df = core.dataflow

    def reads(buf: Buffer | None, held: Arr | None) -> Arr:
        return zero if buf is None else (held if held is not None else macs / buf.macs_per_read)

    a_held = tiles * m * k if df == _IS else None  # the stationary operand: once per load
    b_held = tiles * k * n if df not in (_OS, _IS) else None
    acc = reads(e.accumulation_buffer, None)
    return {"buf_input": _buf_pj(e.input_buffer, a_bits, tiles * sent["a_read"],
                                 reads(e.input_buffer, a_held)),
            "buf_weight": _buf_pj(e.weight_buffer, b_bits, tiles * sent["b_read"],
                                  reads(e.weight_buffer, b_held)),
            "buf_accumulator": _buf_pj(e.accumulation_buffer, c_bits, acc, acc)}


def gemm_energy_by_level(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType,
                         precision: str, hw: Hardware, *, weight_precision: str | None = None,
                         tiles: ArrayLike = 1, macs: ArrayLike | None = None,
                         offchip_read_bytes: ArrayLike = 0, offchip_write_bytes: ArrayLike = 0,
                         ) -> dict[str, Arr]:
    """pJ by level (LEVELS) of `tiles` GEMM tiles of m x k x n on `core` (module docstring).

    `macs`: the MACs to charge (default tiles*m*k*n); the simulator passes its count without
    the padding of ragged tiles and with the MACs an op adds outside its tile GEMM.
    Off-chip bytes are those the tiles move to and from off-chip memory."""
    sram_r, sram_w = gemm_sram_traffic(m, k, n, core, precision,  # checks core and dims
                                       weight_precision=weight_precision)
    m_, k_, n_ = np.broadcast_arrays(*(np.asarray(x, dtype=np.int64) for x in (m, k, n)))
    t = np.asarray(tiles, dtype=np.int64)
    mac_count = _f(t * m_ * k_ * n_ if macs is None else macs)
    ex = core.exec_precision(wider_of(precision, weight_precision or precision))
    a_bits, b_bits = precision_bits(precision), precision_bits(weight_precision or precision)
    c_bits = result_bits(core, precision, weight_precision)
    rd, wr = sram_pj_per_byte(core, hw)
    hbm_rd, hbm_wr = offchip_pj_per_byte(hw)
    off_r, off_w = _f(offchip_read_bytes), _f(offchip_write_bytes)
    return {
        "mac": mac_count * hw.energy.pj_per_mac[ex],
        **_registers(m_, k_, n_, t, mac_count, core, (a_bits, b_bits, c_bits)),
        **_buffers(m_, k_, n_, t, mac_count, core, (a_bits, b_bits, c_bits)),
        "sram_read": (t * sram_r + off_w) * rd,
        "sram_write": (t * sram_w + off_r) * wr,
        "hbm_read": off_r * hbm_rd,
        "hbm_write": off_w * hbm_wr,
    }


def stream_energy_by_level(read_bytes: ArrayLike, write_bytes: ArrayLike, core: CoreType,
                           hw: Hardware, *, offchip_read_bytes: ArrayLike = 0,
                           offchip_write_bytes: ArrayLike = 0) -> dict[str, Arr]:
    """pJ by level of vector and data-movement tiles: their operands read from SRAM once and
    results written once (no array, no registers), plus their off-chip traffic as above."""
    rd, wr = sram_pj_per_byte(core, hw)
    hbm_rd, hbm_wr = offchip_pj_per_byte(hw)
    off_r, off_w = _f(offchip_read_bytes), _f(offchip_write_bytes)
    zero = np.zeros_like(_f(read_bytes) + off_r)
    return {"mac": zero, "reg_weight": zero, "reg_input": zero, "reg_accumulator": zero,
            "buf_input": zero, "buf_weight": zero, "buf_accumulator": zero,
            "sram_read": (_f(read_bytes) + off_w) * rd,
            "sram_write": (_f(write_bytes) + off_r) * wr,
            "hbm_read": off_r * hbm_rd, "hbm_write": off_w * hbm_wr}


def components(levels: Mapping[str, ArrayLike]) -> dict[str, Arr]:
    """Levels summed into the report's energy components (mac, reg, sram, hbm)."""
    out: dict[str, Arr] = {}
    for level, v in levels.items():
        c = COMPONENT[level]
        out[c] = out[c] + _f(v) if c in out else _f(v)
    return out


def gemm_offchip_bytes(m: ArrayLike, k: ArrayLike, n: ArrayLike, core: CoreType,
                       precision: str, *, weight_precision: str | None = None
                       ) -> tuple[Arr, Arr]:
    """(read, write) off-chip bytes of one GEMM on one core whose operands start off-chip
    and whose result ends there: A and B read once and C written once, plus re-reads of the
    operand the dataflow reuses across folds (WS: A over the column folds; IS and OS: B over
    the m folds) when it does not fit the SRAM next to one fold's working set: it is then
    read once per group of folds whose partial-sum (OS: A row) blocks fit beside the
    double-buffered slices of the fold being loaded."""
    gemm_sram_elements(m, k, n, core)  # checks the core and the dimensions
    m_, k_, n_ = (_f(x) for x in np.broadcast_arrays(*(np.asarray(x) for x in (m, k, n))))
    a_b = precision_bits(precision) / 8
    b_b = precision_bits(weight_precision or precision) / 8
    c_b = result_bits(core, precision, weight_precision) / 8
    r, c = core.array_rows, core.array_cols
    a, b, out = m_ * k_ * a_b, k_ * n_ * b_b, m_ * n_ * c_b
    if core.dataflow == _OS:
        reused, folds, block = b, np.ceil(m_ / r), r * k_ * a_b
        fixed = 2 * k_ * c * b_b + r * c * c_b
    elif core.dataflow == _IS:
        reused, folds, block = b, np.ceil(m_ / c), c * n_ * c_b
        fixed = 2 * (r * n_ * b_b + r * c * a_b)
    else:
        reused, folds, block = a, np.ceil(n_ / c), m_ * c * c_b
        fixed = 2 * (m_ * r * a_b + r * c * b_b)
    room = core.sram_bytes - fixed
    group = np.maximum(1, np.floor(np.maximum(room, 0) / block))
    passes = np.where(reused + block <= room, 1, np.ceil(folds / group))
    return a + b + (passes - 1) * reused, out
