"""tile-grain: every compute op of the graph becomes one tile.compute."""

from __future__ import annotations

from dataclasses import dataclass
from math import lcm

from xdsl.context import Context
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, IntegerType, ModuleOp, StringAttr, f64
from xdsl.ir import Attribute
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from meshc import limits
from meshc.errors import MeshcError
from meshc.hardware import Hardware
from meshc.hardware.precision import wider_of
from meshc.ir.graph import GenericOp, GraphOp, KvReadOp, WeightOp
from meshc.ir.tile import ComputeOp, TileKind, TileKindAttr, int_array
from meshc.passes._common import (
    fail,
    functions,
    graph_ops,
    hardware,
    kv_cache_bytes,
    op_where,
    pass_hardware,
    read_regions,
    region_attr,
    residency_attr,
    unique_weights,
    weight_bytes,
)
from meshc.passes._regions import Core
from meshc.passes._tile_ops import Labeler, data_precision, describe, hbm_bytes, kv_consumer
from meshc.passes._tiling import (
    GEMM,
    HwCoreCost,
    NoTileFits,
    Target,
    TileProblem,
    Tiling,
    array_alignment,
    choose,
)


@dataclass(frozen=True)
class TileGrainPass(ModulePass):
    """Cuts every compute op into a grid of identical tiles sized to the hardware.

    Input: `tfm` functions, optionally after partition-attn-mlp (`meshc.regions`,
    `meshc.region`, `meshc.residency`) and lower-quant.
    Output: every tfm op but tfm.weight is replaced by one tile.compute with the same
    operands and result type: source, label (`decode.L3.mlp.down`), kind (gemm: linear,
    lm_head, matmul, attention, moe; memory: kv_read, kv_append, embedding, concat, slice; vector:
    the rest), layer, block, region (`meshc.region`, default `shared`), precision (for gemm
    the widest, over the region's core types, of the precision a core executes the wider of
    the activation and weight formats at; else the data's storage format), stationary_bits
    (gemm: the stored bits per element of the operand the array holds: a linear's, lm_head's
    or MoE's weight with its group scales, a matmul's rhs, attention's K/V cache), grid
    (tiles along M, N, K), tile_shape (m, n, k), tile_work (one tile: macs, vector_ops,
    transcendental_ops, in_bytes, weight_bytes, out_bytes, sram_bytes incl. double
    buffering), padded_macs (tiles x tile MACs - op MACs), hbm_read_bytes (weights resident
    in HBM, streamed once per execution, plus KV cache read) and hbm_write_bytes (KV cache
    written); zero HBM traffic on a machine without HBM. Every tile fits the SRAM a core of
    its region keeps for tiles: its SRAM minus its share (by SRAM size) of the weights (and,
    without HBM, KV cache) resident in the region. Systolic-array axes are multiples of the
    array dimension (or the whole, smaller, dimension). Weights without `meshc.residency`
    count as in HBM (in SRAM on a machine without HBM). Family rules: passes/_tiling.py.
    Options: grain=auto (per op, the fitting tile with the least estimated time on its
    region: ceil(tiles / cores) x cycles of one tile on the slowest core type, the rule of
    hardware/tile_cost.py, or the NoC time to deliver the tiles if longer; within 2% of the
    best, the fewest tiles) or N (gemm-kind ops: tiles of N along each axis, clipped to the
    op; vector and memory ops still search); hw=preset or YAML (default: the module's
    `meshc.hw`, else mesh-4x4, then recorded there).
    Fails when: no tile of an op fits (message: op, smallest tile, bytes needed and
    available); the grain is not auto or positive; hw names another machine than the
    module's `meshc.hw`; a meshc.* attribute is not in its typed form;
    an op names an unknown region, a region has no core for an op's kind, the resident
    weights leave a region no SRAM for tiles, a gemm precision no core of the region can
    execute, a tfm.generic op with other than one result.
    """

    name = "tile-grain"

    grain: str | int = "auto"
    hw: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not (self.grain == "auto" or (isinstance(self.grain, int) and self.grain > 0)):
            fail(f"tile-grain: grain must be auto or a positive integer, got '{self.grain}'")
        hw = hardware(pass_hardware(op, self.hw, self.name) or "", self.name)
        _Tiler(hw, op, None if self.grain == "auto" else int(self.grain)).run()


class _Tiler:
    def __init__(self, hw: Hardware, module: ModuleOp, grain: int | None) -> None:
        self.hw, self.module, self.grain = hw, module, grain
        self.has_hbm = bool(hw.hbm_stacks)
        self.regions = read_regions(module, hw)
        self.type_at = {(r, c): t for r, c, t in hw.cores}
        self.exec_cache: dict[tuple[str, str], str] = {}
        self.residency: dict[WeightOp, str] = {}
        resident: dict[str, int] = {}
        weights = unique_weights(module)
        for w in weights.values():
            if residency_attr(w, self.has_hbm) == "sram":
                r = region_attr(w)
                resident[r] = resident.get(r, 0) + weight_bytes(w)
        if not self.has_hbm:
            for r, b in kv_cache_bytes(module).items():
                resident[r] = resident.get(r, 0) + b
        self.resident = resident
        self.targets: dict[tuple[str, str, str], Target] = {}
        self.tilings: dict[tuple[TileProblem, str, str], Tiling] = {}
        self.props: dict[tuple[TileProblem, str, str], dict[str, Attribute]] = {}
        self.strings: dict[str, StringAttr] = {}
        self.ints: dict[int, IntegerAttr[IntegerType]] = {}
        self.kv_stream: dict[GraphOp, int] = {}  # KV cache bytes its consumer streams

    def run(self) -> None:
        for f in functions(self.module):
            label = Labeler(f.sym_name.data)
            total, largest = 0, (0, "")
            for op in list(graph_ops(f)):
                if isinstance(op, WeightOp):
                    self.residency[op] = residency_attr(op, self.has_hbm)
                    continue
                tiled = self._tile(op, label(op))
                Rewriter.replace_op(op, tiled)
                total += tiled.n_tiles
                if tiled.n_tiles > largest[0]:
                    largest = (tiled.n_tiles, tiled.label.data)
            if total > limits.get("tiles"):  # map-mesh would hold every tile in memory
                e = limits.refuse("tiles", total, f"@{f.sym_name.data} has too many tiles")
                fail(f"tile-grain: {e.message} ({largest[1]} alone has {largest[0]:,}); use "
                     "fewer tokens (--seq, --kv-len, --batch) or a coarser grain (grain=auto "
                     f"or a larger N), or {e.hint}")

    def _tile(self, op: GraphOp, label: str) -> ComputeOp:
        if isinstance(op, GenericOp) and len(op.outputs) != 1:
            fail(f"tile-grain: {op_where(op)} has {len(op.outputs)} results; tile.compute "
                 "takes ops with one result")
        region = region_attr(op)
        if region not in self.regions:
            fail(f"tile-grain: {op_where(op)} is in region '{region}', which meshc.regions "
                 f"does not define ({', '.join(sorted(self.regions))})")
        stream_to = kv_consumer(op) if self.has_hbm and isinstance(op, KvReadOp) else None
        problem = describe(op, streamed=stream_to is not None)
        precision = self._precision(op, problem, region)
        key = (problem, region, precision)
        if key not in self.tilings:
            target = self._target(region, problem.kind, precision, op)
            try:
                grain = self.grain if problem.kind == GEMM else None
                self.tilings[key] = choose(problem, target, grain)
            except NoTileFits as e:
                fail(f"tile-grain: {label}: no tile of {op_where(op)} fits a core of region "
                     f"'{region}' ({self.hw.name}): {e}")
        read, write = hbm_bytes(op, self.residency, self.has_hbm)
        if stream_to is not None:  # the consumer reads the cache as it goes
            self.kv_stream[stream_to] = self.kv_stream.get(stream_to, 0) + read
            read = 0
        read += self.kv_stream.pop(op, 0)
        shared = self._props(key)
        props = {"source": self._str(op.name), "label": StringAttr(label),
                 "kind": shared["kind"], "layer": op.layer, "block": op.block, **shared,
                 "hbm_read_bytes": self._int(read), "hbm_write_bytes": self._int(write)}
        return ComputeOp(operands=[list(op.operands)], result_types=[op.results[0].type],
                         properties=props)

    def _props(self, key: tuple[TileProblem, str, str]) -> dict[str, Attribute]:
        """The properties every op with this tiling shares (attributes are immutable)."""
        if key not in self.props:
            problem, t = key[0], self.tilings[key]
            props: dict[str, Attribute] = {
                "kind": TileKindAttr(TileKind(problem.kind)), "region": self._str(key[1]),
                "precision": self._str(key[2]), "grid": int_array(t.grid),
                "tile_shape": int_array(t.shape), "tile_work": int_array(t.work),
                "padded_macs": IntegerAttr(t.padded_macs, 64),
            }
            if (bits := problem.stationary_bits) is not None:
                props["stationary_bits"] = FloatAttr(bits, f64)
            self.props[key] = props
        return self.props[key]

    def _int(self, n: int) -> IntegerAttr[IntegerType]:
        """Shared i64 attributes (immutable): building one checks its range, and the
        layers repeat the same byte counts."""
        if n not in self.ints:
            self.ints[n] = IntegerAttr(n, 64)
        return self.ints[n]

    def _str(self, s: str) -> StringAttr:
        if s not in self.strings:
            self.strings[s] = StringAttr(s)
        return self.strings[s]

    def _cores(self, region: str, kind: str) -> list[Core]:
        types = self.hw.core_types
        return [c for c in self.regions[region]
                if kind != GEMM or types[self.type_at[c]].can_gemm]

    def _precision(self, op: GraphOp, problem: TileProblem, region: str) -> str:
        """gemm: the widest precision the region's array cores execute the op's widest
        operand format at; vector and memory: the data's storage format."""
        if problem.kind != GEMM:
            return data_precision(op)
        stored = data_precision(op, gemm=True)
        key = (stored, region)
        if key in self.exec_cache:
            return self.exec_cache[key]
        out = None
        for t in sorted({self.type_at[c] for c in self._cores(region, GEMM)}):
            try:
                p = self.hw.core_types[t].exec_precision(stored)
            except MeshcError as e:
                fail(f"tile-grain: {op_where(op)} stores {stored} data, which core type '{t}' "
                     f"of region '{region}' cannot execute: {e.message}")
            out = p if out is None else wider_of(out, p)
        if out is None:
            fail(f"tile-grain: region '{region}' of {self.hw.name} has no core with a systolic "
                 f"array for {op_where(op)}")
        self.exec_cache[key] = out
        return out

    def _target(self, region: str, kind: str, precision: str, op: GraphOp) -> Target:
        key = (region, kind, precision)
        if key in self.targets:
            return self.targets[key]
        hw = self.hw
        cores = self._cores(region, kind)
        if not cores:
            fail(f"tile-grain: region '{region}' of {hw.name} has no core that can run "
                 f"{op_where(op)} ({kind})")
        sram_of = {c: hw.core_types[self.type_at[c]].sram_bytes for c in self.regions[region]}
        total = sum(sram_of.values())
        resident = self.resident.get(region, 0)
        budget = min(sram_of[c] - -(-resident * sram_of[c] // total) for c in cores)
        if budget <= 0:
            fail(f"tile-grain: region '{region}' of {hw.name} has no SRAM left for tiles: "
                 f"{resident:,} B of resident weights and KV cache in {total:,} B")
        types = sorted({self.type_at[c] for c in cores})
        cts = [hw.core_types[t] for t in types]
        align = array_alignment([(ct.array_rows, ct.array_cols, ct.dataflow or "")
                                 for ct in cts if ct.can_gemm and kind == GEMM])
        lanes = lcm(*(ct.vector_lanes for ct in cts))
        target = Target(align=align, lanes=lanes, budget_bytes=budget, n_cores=len(cores),
                        costs=tuple(HwCoreCost(ct, precision) for ct in cts),
                        link_bytes_per_cycle=hw.noc.link_bytes_per_cycle)
        self.targets[key] = target
        return target
