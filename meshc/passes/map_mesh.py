"""map-mesh: places and schedules every tiled op on the mesh.

A thin adapter: it extracts one `MappingProblem` per function (phase) from the tiled IR,
calls the mapper (`meshc.mappers.map_problem`: HEFT, then CP-SAT over windows), and writes
the placement and timing back.

Input: functions whose compute ops are `tile.compute` (after tile-grain); the module's
`meshc.regions` attribute (from partition-attn-mlp) names the cores of each region; without
it every op may use every core.
Output: every `tile.compute` has `placement` (r0, c0, r1, c1, and for a strided rectangle
the row and column steps) and `start`/`end` (cycles);
a memory op feeding one op (KV cache read/append, concat) shares that op's slot;
each function has a `meshc.mapper` dictionary: solver, status, makespan, heft_makespan,
lower_bound (cycles), fell_back, wall_limit_hit, fallback_reason (one line, "" when the
mapper's own schedule was kept), options (the mapper options that ran: mapper, budget,
wall, seed, workers, window), notes (what the mapper reported, in order), and with `timings`
solve_time_s.
Options: hw (preset or YAML; default the module's `meshc.hw`, else mesh-4x4), mapper
(cpsat|heft), budget (CP-SAT deterministic time), wall
(wall-clock safety cap, s), seed, workers, window (ops per LNS window), timings (record the
solve's wall time in the IR, which then differs from run to run).
Fails when: hw names another machine than the module's `meshc.hw`; a tile fits no SRAM of
its region, no core of a region can run an op, or the
HBM-resident bytes exceed HBM capacity: the message names the resource, the demand against
the capacity, and what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    f64,
)
from xdsl.ir import Attribute
from xdsl.passes import ModulePass

from meshc.errors import MeshcError
from meshc.hardware import Hardware
from meshc.hardware.clocks import tile_noc_cycles
from meshc.hardware.ports import hbm_ports
from meshc.hardware.spread import resident_per_core
from meshc.ir.tile import ComputeOp, int_array
from meshc.ir.work import tensor_bytes
from meshc.mappers import MapperOptions, map_problem
from meshc.mappers.offchip import OpMemory, price_offchip
from meshc.mappers.problem import Edge, HbmPort, Machine, MappingProblem, Op
from meshc.passes._common import fail, hardware, hbm_resident_bytes, pass_hardware, read_regions
from meshc.passes._memory import home_bytes, phase_args, resident_params, returned


def machine_of(hw: Hardware) -> Machine:
    """The mapper's view of the machine, in NoC cycles, with every HBM attach core a port."""
    clock = hw.noc.clock_hz
    ports = tuple(HbmPort(core=p.core, bytes_per_cycle=p.bytes_per_s / clock)
                  for p in hbm_ports(hw))
    return Machine(
        rows=hw.mesh_rows, cols=hw.mesh_cols,
        core_types=tuple(tuple(hw.core_type_at(r, c) for c in range(hw.mesh_cols))
                         for r in range(hw.mesh_rows)),
        sram_bytes={n: t.sram_bytes for n, t in hw.core_types.items()},
        clock_hz=clock, link_bytes_per_cycle=hw.noc.link_bytes_per_cycle,
        router_latency_cycles=hw.noc.router_latency_cycles, hbm_ports=ports,
        hbm_capacity_bytes=hw.hbm_bytes or None)


def tiled_ops(f: func.FuncOp) -> list[ComputeOp]:
    return [op for op in f.walk() if isinstance(op, ComputeOp)]


def placement_groups(ops: list[ComputeOp]) -> list[int]:
    """For each tiled op, the op whose placement it shares: itself, or, for a memory op (KV
    cache read or append, concat, gather) whose result feeds exactly one tiled op, that
    consumer's group. Data movement runs on the cores of the op it feeds, so a KV cache
    streams from HBM into the attention cores instead of crossing the mesh a second time."""
    index = {op: i for i, op in enumerate(ops)}
    group = list(range(len(ops)))
    for i in reversed(range(len(ops))):  # a block is in topological order: users come later
        if ops[i].kind.data.value != "memory":
            continue
        users = {use.operation for use in ops[i].result.uses}
        if len(users) == 1:
            (user,) = users
            if isinstance(user, ComputeOp):
                group[i] = group[index[user]]
    return group


def extract_problem(f: func.FuncOp, hw: Hardware,
                    regions: dict[str, tuple[tuple[int, int], ...]],
                    resident_bytes: int = 0) -> MappingProblem:
    """One mapper op per placement group (see `placement_groups`); a group's HBM traffic
    is the sum of its members', and the memory hierarchy's off-chip traffic is priced in
    (meshc.mappers.offchip: the phase's inputs and outputs, results that cannot stay on
    chip)."""
    ops = tiled_ops(f)
    group = placement_groups(ops)
    leaders = sorted(set(group))
    pid = {leader: k for k, leader in enumerate(leaders)}
    has_hbm = bool(hw.hbm_bytes)
    out = returned(f)
    hbm = {leader: [0, 0] for leader in leaders}
    args: dict[int, set[tuple[int, int]]] = {leader: set() for leader in leaders}
    for i, op in enumerate(ops):
        hbm[group[i]][0] += op.hbm_read_bytes.value.data
        hbm[group[i]][1] += op.hbm_write_bytes.value.data
        args[group[i]].update(phase_args(op))
    problem_ops, memory = [], []
    costs: dict[tuple[object, ...], dict[str, int]] = {}  # the layers repeat their tiles
    for k, i in enumerate(leaders):
        op = ops[i]
        view = _TileView(op)
        key = view.key()
        if key not in costs:
            costs[key] = {name: tile_noc_cycles(view, ct, hw)
                          for name, ct in hw.core_types.items()
                          if ct.can_gemm or view.kind != "gemm"}
        tc = costs[key]
        problem_ops.append(Op(
            id=k, name=op.label.data, layer=op.layer.value.data, block=op.block.data.value,
            region=op.region.data if op.region.data in regions else "shared",
            n_tiles=op.n_tiles, tile_cycles=tc,
            sram_bytes_per_tile=op.work_per_tile()["sram_bytes"],
            hbm_read_bytes=hbm[i][0], hbm_write_bytes=hbm[i][1],
            out_bytes=tensor_bytes(op.result.type)))
        memory.append(OpMemory(home_bytes=home_bytes(op, has_hbm), args=tuple(sorted(args[i])),
                               is_output=op.result in out))
    index = {op: i for i, op in enumerate(ops)}
    edges = sorted({(pid[group[index[o.owner]]], pid[group[i]], tensor_bytes(o.type))
                    for i, op in enumerate(ops) for o in op.inputs
                    if isinstance(o.owner, ComputeOp)
                    and group[index[o.owner]] != group[i]})
    machine = machine_of(hw)
    resident = resident_per_core((regions[o.region.data if o.region.data in regions
                                          else "shared"], resident_params(o, has_hbm))
                                 for o in ops)
    priced_ops, priced_edges = price_offchip(
        problem_ops, [Edge(src=s, dst=d, bytes=b) for s, d, b in edges], memory, machine,
        regions, resident)
    return MappingProblem(machine=machine, ops=priced_ops, edges=priced_edges,
                          regions=regions, hbm_resident_bytes=resident_bytes,
                          name=f"@{f.sym_name.data}")


class _TileView:
    """The fields of a tile.compute the per-tile cost model reads."""

    def __init__(self, op: ComputeOp) -> None:
        self.kind = op.kind.data.value
        self.precision = op.precision.data
        m, n, k = (int(x) for x in op.tile_shape.get_values())
        self.tile_shape = (m, n, k)
        self.tile_work = op.work_per_tile()
        self.stationary_bits = op.stationary_bits_value()

    def key(self) -> tuple[object, ...]:
        """Everything the per-tile cost model reads."""
        return (self.kind, self.precision, self.tile_shape, tuple(self.tile_work.items()),
                self.stationary_bits)


@dataclass(frozen=True)
class MapMeshPass(ModulePass):
    name = "map-mesh"

    hw: str = ""
    mapper: str = "cpsat"
    budget: float = 0.5
    wall: float = 300.0
    seed: int = 0
    workers: int = 2
    window: int = 12
    timings: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        hw = hardware(pass_hardware(op, self.hw, self.name) or "", self.name)
        regions = read_regions(op, hw)
        resident_bytes = hbm_resident_bytes(op)
        try:
            options = MapperOptions(mapper=self.mapper, time_budget=self.budget,  # type: ignore[arg-type]
                                    wall_limit_s=self.wall, seed=self.seed,
                                    workers=self.workers, window_ops=self.window)
            for f in [o for o in op.ops if isinstance(o, func.FuncOp)]:
                self._map(f, hw, regions, options, resident_bytes)
        except MeshcError as e:
            fail(str(e))

    def _map(self, f: func.FuncOp, hw: Hardware,
             regions: dict[str, tuple[tuple[int, int], ...]], options: MapperOptions,
             resident_bytes: int) -> None:
        ops = tiled_ops(f)
        if not ops:
            return
        result = map_problem(extract_problem(f, hw, regions, resident_bytes), options)
        group = placement_groups(ops)
        leaders = sorted(set(group))
        # attributes are immutable: a group's members share its slot's (building one checks it)
        slot = {leaders[p.op]: (int_array(p.rect if p.steps == (1, 1) else p.rect + p.steps),
                                IntegerAttr(p.start, 64), IntegerAttr(p.end, 64))
                for p in result.schedule.ops}
        for t, leader in zip(ops, group, strict=True):
            t.properties["placement"], t.properties["start"], t.properties["end"] = slot[leader]
        s = result.stats
        stats: dict[str, Attribute] = {
            "solver": StringAttr(s.solver), "status": StringAttr(s.status),
            "makespan": IntegerAttr(s.makespan, 64),
            "heft_makespan": IntegerAttr(s.heft_makespan, 64),
            "lower_bound": IntegerAttr(s.lower_bound, 64),
            "fell_back": BoolAttr.from_bool(s.fell_back),
            "wall_limit_hit": BoolAttr.from_bool(s.wall_limit_hit),
            "fallback_reason": StringAttr(s.fallback_reason),
            "options": self._options_attr(),
            "notes": ArrayAttr([StringAttr(n) for n in s.notes]),
        }
        if self.timings:
            stats["solve_time_s"] = FloatAttr(round(s.solve_time_s, 3), f64)
        f.attributes["meshc.mapper"] = DictionaryAttr(stats)

    def _options_attr(self) -> DictionaryAttr:
        """The options that ran, under their pass-option names (hw is the module's)."""
        return DictionaryAttr({
            "mapper": StringAttr(self.mapper), "budget": FloatAttr(self.budget, f64),
            "wall": FloatAttr(self.wall, f64), "seed": IntegerAttr(self.seed, 64),
            "workers": IntegerAttr(self.workers, 64), "window": IntegerAttr(self.window, 64)})
