"""The grain search of tile-grain: pure functions on frozen values, vectorised with numpy.

A `TileProblem` describes one graph op without xDSL or hardware; a `Target` describes the
cores of the op's region (alignment, SRAM budget for one tile, core count, a cost model per
core type). `choose` returns the `Tiling` that minimises the op's estimated time on the
region among the tiles that fit the budget, or raises `NoTileFits` with the numbers.

Families (tile shape is (m, n, k); the grid counts tiles along M, N, K):

gemm       `batch` x ([m x k] times [k x n]); the rhs is a weight (`b_weight`) or an
           activation. MoE experts are a batched GEMM over active experts with
           n = 3 x ffn (gate, up and down stacked); `extra_macs` (router, MLA absorb) and
           the op's vector work are spread evenly over the tiles.
attention  `batch` groups (batch x KV heads) of m query rows (the query heads sharing one
           KV head x q_len) against k cached rows; n = qk + v dims, so one tile's GEMM MACs
           are m * n * k (QK^T and PV); softmax work per score.
vector     m rows x n columns (k = 1); rows are whole (n fixed) for reductions (norms,
           softmax), lane-aligned slices otherwise; bytes and work spread per element.
memory     m rows x n columns (k = 1), data movement only.

One tile's SRAM working set is 2 x (in + weight + out) bytes (double buffering) plus f32
scratch: the accumulator tile when K is split (gemm), the score tile and output
accumulator (attention). Quantized weights add one 16-bit scale per `group` elements.
Alignment: a systolic-array axis takes multiples of the array dimension (a dimension no
larger than the array is taken whole); powers of two and near-even splits are tried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import lcm
from typing import TYPE_CHECKING, Protocol

import numpy as np

from meshc.hardware.tile_cost import tile_cycles_array
from meshc.ir.work import SCALE_BITS

if TYPE_CHECKING:
    from meshc.hardware import CoreType

GEMM, ATTENTION, VECTOR, MEMORY = "gemm", "attention", "vector", "memory"
FAMILIES = (GEMM, ATTENTION, VECTOR, MEMORY)
ACC_BYTES = 4
SPLITS = 16  # near-even splits tried per axis: ceil(d / g) for g = 1..SPLITS
COARSE_TOLERANCE = 0.02  # among tiles within 2% of the best time, take the fewest

Arr = np.ndarray


@dataclass(frozen=True, slots=True)
class TileProblem:
    """One op, as the tiler sees it (module docstring: families)."""

    family: str
    m: int
    n: int
    k: int = 1
    batch: int = 1
    a_bits: int = 16  # gemm lhs, attention q, vector/memory data
    b_bits: int = 16  # gemm rhs, attention K/V cache
    out_bits: int = 16
    b_weight: bool = False
    group: int = 0  # weight elements per scale; 0: no scales
    macs: int = 0  # useful MACs of the whole op
    extra_macs: int = 0
    vector_ops: int = 0
    transcendental_ops: int = 0
    in_bytes: int = 0  # vector/memory: activation bytes in, spread per element
    out_bytes: int = 0
    weight_bytes: int = 0  # vector: parameters along n; attention: absorb weight per group
    qk: int = 0  # attention: dims of q and k per row (n - qk: v dims)
    kv_width: int = 0  # attention: cache elements per kv row a tile reads
    split_n: bool = True  # vector: rows may be cut

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown tile family {self.family!r}")
        if min(self.m, self.n, self.k, self.batch) < 1:
            raise ValueError(f"tile problem dimensions must be positive: {self}")

    @property
    def kind(self) -> str:
        """The tile.compute kind: gemm (systolic array), vector or memory."""
        return GEMM if self.family == ATTENTION else self.family

    @property
    def stationary_bits(self) -> float | None:
        """Stored bits per element of the operand a weight-stationary array holds (gemm:
        B, with a quantized weight's 16-bit scale per `group` elements spread over them;
        attention: the K/V cache); None for vector and memory ops."""
        if self.family not in (GEMM, ATTENTION):
            return None
        return self.b_bits + (SCALE_BITS / self.group if self.group else 0)


class CoreCost(Protocol):
    """Cycles of one tile on one core type, vectorised over candidate tiles."""

    def cycles(self, kind: str, tm: Arr, tn: Arr, tk: Arr, vector_ops: Arr,
               transcendental_ops: Arr, moved_bytes: Arr,
               stationary_bits: float | None) -> Arr: ...


@dataclass(frozen=True, slots=True, eq=False)
class HwCoreCost:
    """A core type's tile cycles: meshc.hardware.tile_cost's one rule, over arrays."""

    core: CoreType
    precision: str

    def cycles(self, kind: str, tm: Arr, tn: Arr, tk: Arr, vector_ops: Arr,
               transcendental_ops: Arr, moved_bytes: Arr,
               stationary_bits: float | None) -> Arr:
        return tile_cycles_array(kind, self.core, self.precision, tm, tn, tk, vector_ops,
                                 transcendental_ops, moved_bytes, stationary_bits)


@dataclass(frozen=True, slots=True, eq=False)
class Target:
    """The cores an op may run on. `align` = (m, n, k) multiples for systolic-array axes
    (1: free), `lanes` the vector alignment, `budget_bytes` the SRAM one tile may use on the
    tightest core, `costs` one cost model per core type present (n_cores in total)."""

    align: tuple[int, int, int]
    lanes: int
    budget_bytes: int
    n_cores: int
    costs: tuple[CoreCost, ...]
    link_bytes_per_cycle: float = 0.0  # > 0: count the NoC traffic of delivering tiles


def array_alignment(arrays: Sequence[tuple[int, int, str]]) -> tuple[int, int, int]:
    """(m, n, k) alignment that suits every (rows, cols, dataflow) array at once: output-
    stationary arrays hold m x n, weight-stationary ones k x n, input-stationary ones k x m
    (see hardware/cost.py)."""
    am = an = ak = 1
    for rows, cols, dataflow in arrays:
        if dataflow == "output_stationary":
            am, an = lcm(am, rows), lcm(an, cols)
        elif dataflow == "input_stationary":
            ak, am = lcm(ak, rows), lcm(am, cols)
        else:
            ak, an = lcm(ak, rows), lcm(an, cols)
    return am, an, ak


@dataclass(frozen=True, slots=True)
class Tiling:
    grid: tuple[int, int, int]
    shape: tuple[int, int, int]
    work: tuple[int, ...]  # meshc.ir.tile.TILE_WORK_FIELDS of one tile
    padded_macs: int
    tile_cycles: int  # on the slowest core type of the target
    est_cycles: int  # ceil(tiles / cores) * tile_cycles

    @property
    def n_tiles(self) -> int:
        return self.grid[0] * self.grid[1] * self.grid[2]


class NoTileFits(ValueError):
    """No candidate tile fits the SRAM budget; the message has the numbers."""


def _cdiv(a: Arr | int, b: Arr | int) -> Arr:
    return -(-np.asarray(a, dtype=np.int64) // np.asarray(b, dtype=np.int64))


def _share(total: int, part: Arr, whole: int) -> Arr:
    """ceil(total * part / whole), exact when it fits int64."""
    part = np.asarray(part, dtype=np.int64)
    if total == 0:
        return np.zeros_like(part)
    if total * int(part.max(initial=1)) < 2**62:
        return _cdiv(total * part, whole)
    return np.ceil(total / whole * part.astype(np.float64)).astype(np.int64)


def axis_candidates(d: int, align: int) -> list[int]:
    """Tile sizes for one axis of length d: d itself when d <= align, else multiples of
    align: powers of two times align below d and near-even splits of d rounded up."""
    if d <= align:
        return [d]
    out = set()
    t = align
    while t < d:
        out.add(t)
        t *= 2
    for g in range(1, SPLITS + 1):
        part = -(-d // g)
        out.add(-(-part // align) * align)
    return sorted(out)


def _axes(p: TileProblem, t: Target, grain: int | None) -> tuple[list[int], ...]:
    am, an, ak = t.align
    if p.family == GEMM:
        spec = ((p.m, am, False), (p.n, an, False), (p.k, ak, False))
    elif p.family == ATTENTION:
        spec = ((p.m, am, False), (p.n, 1, True), (p.k, ak, False))
    elif p.family == VECTOR:
        spec = ((p.m, 1, False), (p.n, t.lanes, not p.split_n), (1, 1, True))
    else:
        spec = ((p.m, 1, False), (p.n, 1, True), (1, 1, True))
    if grain is not None:
        return tuple([d if fixed else min(d, grain)] for d, _, fixed in spec)
    return tuple([d] if fixed else axis_candidates(d, a) for d, a, fixed in spec)


def evaluate(p: TileProblem, tm: Arr, tn: Arr, tk: Arr) -> dict[str, Arr]:
    """Grid, per-tile work and SRAM of candidate tiles (arrays of equal shape)."""
    tm, tn, tk = (np.asarray(x, dtype=np.int64) for x in (tm, tn, tk))
    gm, gn, gk = p.batch * _cdiv(p.m, tm), _cdiv(p.n, tn), _cdiv(p.k, tk)
    n_tiles = gm * gn * gk
    zero = np.zeros_like(tm)
    if p.family == GEMM:
        a = _cdiv(tm * tk * p.a_bits, 8)
        b = _cdiv(tk * tn * p.b_bits, 8)
        if p.group:
            b = b + _cdiv(tk * tn, p.group) * (SCALE_BITS // 8)
        in_b, w = (a, b) if p.b_weight else (a + b, zero)
        out = _cdiv(tm * tn * p.out_bits, 8)
        scratch = np.where(gk > 1, tm * tn * ACC_BYTES, 0)
        macs = tm * tn * tk + _cdiv(p.extra_macs, n_tiles)
        vec, trans = _cdiv(p.vector_ops, n_tiles), _cdiv(p.transcendental_ops, n_tiles)
    elif p.family == ATTENTION:
        v_dim = p.n - p.qk
        in_b = _cdiv(tm * p.qk * p.a_bits, 8) + _cdiv(tk * p.kv_width * p.b_bits, 8)
        w = _share(p.weight_bytes, np.minimum(tm, p.m), p.m)
        out = _cdiv(tm * v_dim * p.out_bits, 8)
        scratch = (tm * tk + tm * v_dim) * ACC_BYTES
        macs = tm * tk * p.n + _cdiv(p.extra_macs, n_tiles)
        scores = p.batch * p.m * p.k
        vec = _share(p.vector_ops, tm * tk, scores)
        trans = _share(p.transcendental_ops, tm * tk, scores)
    else:
        numel = p.batch * p.m * p.n
        in_b = _share(p.in_bytes, tm * tn, numel)
        out = _share(p.out_bytes, tm * tn, numel)
        w = _share(p.weight_bytes, tn, p.n)
        scratch = zero
        macs = zero
        vec = _share(p.vector_ops, tm * tn, numel)
        trans = _share(p.transcendental_ops, tm * tn, numel)
    sram = 2 * (in_b + w + out) + scratch
    return {
        "tm": tm, "tn": tn, "tk": tk, "gm": gm, "gn": gn, "gk": gk, "n_tiles": n_tiles,
        "macs": macs, "vector_ops": vec, "transcendental_ops": trans, "in_bytes": in_b,
        "weight_bytes": w, "out_bytes": out, "sram_bytes": sram,
        "padded_macs": np.maximum(0, n_tiles * macs - p.macs),
    }


WORK_FIELDS = ("macs", "vector_ops", "transcendental_ops", "in_bytes", "weight_bytes",
               "out_bytes", "sram_bytes")


def candidates(p: TileProblem, t: Target, grain: int | None = None) -> dict[str, Arr]:
    """Every candidate tile of `p` on `t` (grain=None: the auto search space)."""
    cm, cn, ck = _axes(p, t, grain)
    tm, tn, tk = (a.ravel() for a in np.meshgrid(cm, cn, ck, indexing="ij"))
    return evaluate(p, tm, tn, tk)


def choose(p: TileProblem, t: Target, grain: int | None = None) -> Tiling:
    """The fitting tile with the least estimated time on the target (ties: fewer tiles,
    less padding, larger tiles). grain=N: tiles of N along every free axis (clipped)."""
    c = candidates(p, t, grain)
    fits = np.flatnonzero(c["sram_bytes"] <= t.budget_bytes)
    if fits.size == 0:
        i = int(np.argmin(c["sram_bytes"]))
        what = "the smallest tile" if grain is None else f"the grain-{grain} tile"
        raise NoTileFits(
            f"{what} (m, n, k) = ({c['tm'][i]}, {c['tn'][i]}, {c['tk'][i]}) needs "
            f"{int(c['sram_bytes'][i]):,} B of SRAM with double buffering, but a core has "
            f"{t.budget_bytes:,} B for tiles")
    s = {k: v[fits] for k, v in c.items()}
    moved = s["in_bytes"] + s["weight_bytes"] + s["out_bytes"]
    cyc = np.max([cost.cycles(p.kind, s["tm"], s["tn"], s["tk"], s["vector_ops"],
                              s["transcendental_ops"], moved, p.stationary_bits)
                  for cost in t.costs], axis=0)
    est = _cdiv(s["n_tiles"], t.n_cores) * cyc
    if t.link_bytes_per_cycle > 0:
        noc = np.ceil(s["n_tiles"] * moved / (t.n_cores * t.link_bytes_per_cycle)).astype(np.int64)
        est = np.maximum(est, noc)
    near = est <= est.min() * (1 + COARSE_TOLERANCE)
    best = np.lexsort((-s["tk"], -s["tn"], -s["tm"], s["padded_macs"], est, s["n_tiles"],
                       ~near))[0]
    return Tiling(
        grid=(int(s["gm"][best]), int(s["gn"][best]), int(s["gk"][best])),
        shape=(int(s["tm"][best]), int(s["tn"][best]), int(s["tk"][best])),
        work=tuple(int(s[f][best]) for f in WORK_FIELDS),
        padded_macs=int(s["padded_macs"][best]),
        tile_cycles=int(cyc[best]),
        est_cycles=int(est[best]),
    )
