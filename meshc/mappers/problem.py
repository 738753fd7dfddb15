"""The mapping problem: tiled ops, their dependencies and the machine, as plain frozen values.

The unit of decision is an *op* (one tiled graph op: a linear, an attention, a norm ...), not
an individual tile. The mapper gives each op one core rectangle inside its region and a start
cycle; a fixed rule spreads the op's tiles over that rectangle (see `tiles.py`).

The map-mesh pass extracts a `MappingProblem` from the IR; everything in `meshc.mappers` works
on these values only (no xDSL, no hardware model objects). Conventions:

* ops are numbered: `problem.ops[i].id == i`; edges refer to op ids;
* cores are `(row, col)` pairs, row-major, `0 <= row < rows`, `0 <= col < cols`;
* units are in the field names: `*_bytes`, `*_cycles`, `*_bytes_per_cycle`, `clock_hz`.

Structural mistakes (an edge to a missing op, a region core outside the mesh, a cycle) raise
`MeshcError` at construction. Resource infeasibility (a tile that fits no SRAM ...) is checked
by `feasibility.check_feasible` before any solve.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, TypeVar

from meshc.errors import MeshcError

Core = tuple[int, int]
Block = Literal["attention", "mlp", "other"]
BLOCKS: tuple[str, ...] = ("attention", "mlp", "other")
V = TypeVar("V")


def _frozen_map(items: Mapping[str, V]) -> Mapping[str, V]:
    """A read-only copy of `items`, keys sorted so that iteration order is deterministic."""
    return MappingProxyType(dict(sorted(items.items())))


@dataclass(frozen=True, slots=True, kw_only=True)
class HbmPort:
    """One HBM channel attached to the core at `core`, delivering `bytes_per_cycle`."""

    core: Core
    bytes_per_cycle: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Machine:
    """The mesh as the mapper sees it (filled in from `meshc.hardware` by the map-mesh pass).

    `core_types[row][col]` names the core type at each position; `sram_bytes[type]` is the
    SRAM of one core of that type. HBM bandwidth is the sum over `hbm_ports` (one per attach
    core: meshc.hardware.ports); an empty tuple means the machine has no HBM.
    `hbm_capacity_bytes=None` means capacity is not checked. Every `*_cycles` of the problem
    counts cycles of `clock_hz` (the NoC's), whatever the clock of the core types.
    """

    rows: int
    cols: int
    core_types: tuple[tuple[str, ...], ...]
    sram_bytes: Mapping[str, int]
    clock_hz: float
    link_bytes_per_cycle: float
    router_latency_cycles: int
    hbm_ports: tuple[HbmPort, ...] = ()
    hbm_capacity_bytes: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sram_bytes", _frozen_map(self.sram_bytes))
        where = "machine"
        if self.rows < 1 or self.cols < 1:
            raise MeshcError(f"mesh is {self.rows}x{self.cols}; it needs at least one core",
                             where=where)
        if len(self.core_types) != self.rows or any(
            len(row) != self.cols for row in self.core_types
        ):
            raise MeshcError(f"core_types must be {self.rows} rows of {self.cols} types",
                             where=where)
        for name in sorted({t for row in self.core_types for t in row}):
            if name not in self.sram_bytes:
                raise MeshcError(f"core type {name!r} has no sram_bytes", where=where)
        if self.link_bytes_per_cycle <= 0 or self.router_latency_cycles < 0:
            raise MeshcError("link_bytes_per_cycle must be > 0 and router_latency_cycles >= 0",
                             where=where)
        for port in self.hbm_ports:
            if not self.on_mesh(port.core) or port.bytes_per_cycle <= 0:
                raise MeshcError(
                    f"HBM port at {port.core} must sit on the mesh with bytes_per_cycle > 0",
                    where=where,
                )

    def on_mesh(self, core: Core) -> bool:
        """Whether `core` is a position of this mesh."""
        return 0 <= core[0] < self.rows and 0 <= core[1] < self.cols

    def core_type(self, core: Core) -> str:
        """The type name of the core at `core`."""
        return self.core_types[core[0]][core[1]]

    @property
    def hbm_bytes_per_cycle(self) -> float:
        """Aggregate HBM bandwidth over all ports (0.0 without HBM)."""
        return float(sum(p.bytes_per_cycle for p in self.hbm_ports))


@dataclass(frozen=True, slots=True, kw_only=True)
class Op:
    """One tiled op: the unit the mapper places (on a core rectangle) and times.

    `tile_cycles[type]` is the cycles (of the machine's clock) of ONE tile on ONE core of
    that type; a type missing means the op cannot run there. `sram_bytes_per_tile` is the
    working set of one tile including double buffering. `hbm_read_bytes`/`hbm_write_bytes`
    are what the op streams from/to HBM (weights not resident in SRAM, KV cache). `layer`
    is -1 for ops outside the decoder layers.
    """

    id: int
    name: str
    layer: int
    block: Block
    region: str
    n_tiles: int
    tile_cycles: Mapping[str, int]
    sram_bytes_per_tile: int
    hbm_read_bytes: int = 0
    hbm_write_bytes: int = 0
    out_bytes: int = 0
    # of the HBM bytes, the spills and reloads priced by the memory rule (mappers/offchip.py):
    # an estimate on one order of the ops, so not part of the physical lower bound
    spill_bytes: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "tile_cycles", _frozen_map(self.tile_cycles))
        where = f"op {self.name}"
        if self.block not in BLOCKS:
            raise MeshcError(f"block is {self.block!r}; expected one of {BLOCKS}", where=where)
        if self.n_tiles < 1:
            raise MeshcError(f"n_tiles is {self.n_tiles}; an op has at least one tile",
                             where=where)
        if not self.tile_cycles or min(self.tile_cycles.values()) < 1:
            raise MeshcError("tile_cycles needs at least one core type, each >= 1 cycle",
                             where=where)
        if min(self.sram_bytes_per_tile, self.hbm_read_bytes, self.hbm_write_bytes,
               self.out_bytes, self.spill_bytes) < 0:
            raise MeshcError("byte counts must be >= 0", where=where)
        if self.spill_bytes > self.hbm_bytes:
            raise MeshcError(f"spill_bytes ({self.spill_bytes}) exceed the op's HBM bytes "
                             f"({self.hbm_bytes})", where=where)

    @property
    def hbm_bytes(self) -> int:
        """Bytes this op moves over HBM in total (reads plus writes)."""
        return self.hbm_read_bytes + self.hbm_write_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """A data dependency: `dst` reads `bytes` produced by `src` (op ids)."""

    src: int
    dst: int
    bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingProblem:
    """Ops, dependencies, regions and machine: everything a mapper needs, nothing else.

    `regions` maps a region name to its cores (any shape, e.g. the two edge columns).
    `hbm_resident_bytes` is what must live in HBM for the whole run (weights that do not fit
    in SRAM plus the KV cache); it is checked against `machine.hbm_capacity_bytes`.
    `max_candidates` caps the candidate rectangles per op (see `rects.py`).
    """

    machine: Machine
    ops: tuple[Op, ...]
    edges: tuple[Edge, ...]
    regions: Mapping[str, tuple[Core, ...]]
    hbm_resident_bytes: int = 0
    max_candidates: int = 24
    name: str = "problem"
    _order: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regions = {k: tuple(sorted(set(v))) for k, v in self.regions.items()}
        object.__setattr__(self, "regions", _frozen_map(regions))
        for name, cores in self.regions.items():
            bad = [c for c in cores if not self.machine.on_mesh(c)]
            if bad or not cores:
                raise MeshcError(
                    f"region {name!r} has cores outside the {self.machine.rows}x"
                    f"{self.machine.cols} mesh: {bad}" if bad else f"region {name!r} is empty",
                    where=self.name,
                )
        for i, op in enumerate(self.ops):
            if op.id != i:
                raise MeshcError(f"op {op.name} has id {op.id} at position {i}; ids must be "
                                 "0..n-1 in order", where=self.name)
            if op.region not in self.regions:
                raise MeshcError(f"op {op.name} uses region {op.region!r}, which is not one of "
                                 f"{sorted(self.regions)}", where=self.name)
        n = len(self.ops)
        for e in self.edges:
            if not (0 <= e.src < n and 0 <= e.dst < n) or e.src == e.dst or e.bytes < 0:
                raise MeshcError(f"edge {e.src}->{e.dst} ({e.bytes} B) is not a dependency "
                                 f"between two distinct ops of {n}", where=self.name)
        if self.max_candidates < 1:
            raise MeshcError("max_candidates must be >= 1", where=self.name)
        object.__setattr__(self, "_order", _topological_order(n, self.edges, self))

    @property
    def topo_order(self) -> tuple[int, ...]:
        """Op ids in a deterministic topological order (Kahn's algorithm, smallest id first)."""
        return self._order


def _topological_order(n: int, edges: tuple[Edge, ...], problem: MappingProblem) -> tuple[
    int, ...
]:
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((e.src, e.dst) for e in edges)
    try:
        return tuple(nx.lexicographical_topological_sort(g))  # smallest ready id first
    except nx.NetworkXUnfeasible:
        cycle = sorted({u for u, _ in nx.find_cycle(g)})[:5]
        names = ", ".join(problem.ops[i].name for i in cycle)
        raise MeshcError(f"the dependencies form a cycle through ops {names}",
                         where=problem.name) from None
