"""The machine as data: frozen, validated models of a 2D mesh-of-cores accelerator.

Only meshc/hardware/load.py builds these from raw YAML; everything else reads them.
Checks that span fields raise `FieldError`, which load.py turns into a MeshcError naming
the YAML path (pydantic alone would only name the enclosing object).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    NonNegativeInt,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

from meshc import limits
from meshc.errors import MeshcError
from meshc.hardware import ranges as rg
from meshc.hardware.core_type import CoreType, Dataflow
from meshc.hardware.energy import NODES, EnergyTable
from meshc.hardware.frozen import DUMP, FREEZE, FrozenMap
from meshc.hardware.precision import PRECISIONS, Precision
from meshc.hardware.schema_base import CONFIG as _CONFIG
from meshc.hardware.schema_base import FieldError

__all__ = ["SCHEMA_VERSION", "CoreType", "Dataflow", "FieldError", "Hardware"]

SCHEMA_VERSION = 1

NodeName = Literal["45nm", "14nm", "7nm"]  # the keys of energy.NODES (a test checks)
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")]

class Region(BaseModel):
    """A rectangle of the mesh holding one core type; rows and cols are inclusive."""

    model_config = _CONFIG

    core: str
    rows: tuple[NonNegativeInt, NonNegativeInt] = Field(description="[first, last], inclusive")
    cols: tuple[NonNegativeInt, NonNegativeInt] = Field(description="[first, last], inclusive")

    @model_validator(mode="after")
    def _ordered(self) -> Region:
        for f in ("rows", "cols"):
            a, b = getattr(self, f)
            if a > b:
                raise FieldError(f, f"first index {a} is after last index {b}")
        return self


class Mesh(BaseModel):
    """The grid: `fill` everywhere, overridden by `regions` in order."""

    model_config = _CONFIG

    rows: rg.MeshSide
    cols: rg.MeshSide
    fill: str = Field(description="core type at every position no region covers")
    regions: tuple[Region, ...] = ()

    @model_validator(mode="after")
    def _in_bounds(self) -> Mesh:
        n = self.rows * self.cols
        if n > limits.get("cores"):  # refused before anything lays out n cores
            e = limits.refuse("cores", n, f"a {self.rows}x{self.cols} mesh has too many cores")
            raise FieldError("", e.message, e.hint)
        for i, reg in enumerate(self.regions):
            for f, n in (("rows", self.rows), ("cols", self.cols)):
                if getattr(reg, f)[1] >= n:
                    raise FieldError(f"regions[{i}].{f}", f"{list(getattr(reg, f))} reaches "
                                     f"past the mesh, whose {f} are 0..{n - 1}")
        return self


class Noc(BaseModel):
    """A 2D mesh network with dimension-ordered (XY) routing."""

    model_config = _CONFIG

    topology: Literal["mesh"] = "mesh"
    routing: Literal["xy"] = "xy"
    link_bytes_per_cycle: rg.LinkBytesPerCycle = Field(description="per link, per direction")
    router_latency_cycles: rg.RouterCycles
    pj_per_byte_hop: rg.PicoJoulesOrZero = Field(description="link + router energy per byte per hop")
    clock_hz: rg.Hz

    @property
    def link_bytes_per_s(self) -> float:
        return self.link_bytes_per_cycle * self.clock_hz


class HbmStack(BaseModel):
    """One off-chip memory stack (or DRAM channel group) and the edge cores it feeds."""

    model_config = _CONFIG

    attach: tuple[tuple[NonNegativeInt, NonNegativeInt], ...] = Field(
        min_length=1, description="[row, col] of each edge core the stack's ports connect to"
    )
    bytes: rg.HbmBytes
    bytes_per_s: rg.HbmBytesPerS
    pj_per_bit: rg.PicoJoules = Field(description="per bit read (and written, unless "
                                      "write_pj_per_bit is given)")
    write_pj_per_bit: rg.PicoJoules | None = None
    energy_scope: Literal["device", "system"] | None = Field(
        None, description="device: the memory and its I/O; system: also the controller and "
        "on-chip transport to it (A100 13.1 vs HBM2 3.97 pJ/bit); none: not stated")

    @property
    def write_pj(self) -> float:
        return self.pj_per_bit if self.write_pj_per_bit is None else self.write_pj_per_bit


class Hbm(BaseModel):
    model_config = _CONFIG

    stacks: tuple[HbmStack, ...] = Field(description="empty for an SRAM-only machine")


class EnergySpec(BaseModel):
    """A process node's table (energy.py) plus this machine's overrides and static power."""

    model_config = _CONFIG

    node: NodeName
    static_w_per_core: rg.Watts
    pj_per_mac: Annotated[Mapping[Precision, rg.PicoJoules], FREEZE, DUMP] = Field(
        default_factory=FrozenMap, description="overrides of the node table, per precision"
    )
    sram_pj_per_byte_by_macro_bytes: Annotated[
        Mapping[rg.SramBytes, rg.PicoJoules], FREEZE, DUMP
    ] = Field(default_factory=FrozenMap, description="replaces the node's SRAM table when given")
    vector_pj_per_op: rg.PicoJoules | None = None
    transcendental_pj_per_op: rg.PicoJoules | None = None
    mac_includes_accumulator: bool = Field(
        True, description="pj_per_mac pays for the partial-sum register too (a core type "
        "then gives no accumulator); false: each array core type describes its accumulator")

    _table: EnergyTable = PrivateAttr()

    @model_validator(mode="after")
    def _resolve(self) -> EnergySpec:
        base = NODES[self.node]
        macs = FrozenMap({**base.pj_per_mac, **self.pj_per_mac})
        for lo, hi in pairwise(PRECISIONS):
            if macs[lo] > macs[hi]:
                raise FieldError("pj_per_mac", f"{lo} costs {macs[lo]} pJ per MAC, more than "
                                 f"{hi} at {macs[hi]}: a narrower format never costs more")
        self._table = EnergyTable(
            node=self.node,
            source=base.source,
            pj_per_mac=macs,
            sram_pj_per_byte_by_macro_bytes=self.sram_pj_per_byte_by_macro_bytes
            or base.sram_pj_per_byte_by_macro_bytes,
            vector_pj_per_op=self.vector_pj_per_op or base.vector_pj_per_op,
            transcendental_pj_per_op=self.transcendental_pj_per_op
            or base.transcendental_pj_per_op,
            static_w_per_core=self.static_w_per_core,
        )
        return self

    @property
    def table(self) -> EnergyTable:
        return self._table


class Hardware(BaseModel):
    """A whole accelerator: core types, their layout on the mesh, NoC, HBM and energy."""

    model_config = _CONFIG

    schema_version: Literal[1]
    name: str = Field(min_length=1)
    description: str = ""
    sources: tuple[str, ...] = Field((), description="where the numbers come from")
    core_types: Annotated[Mapping[Name, CoreType], FREEZE, DUMP] = Field(min_length=1)
    mesh: Mesh
    noc: Noc
    hbm: Hbm
    energy_spec: EnergySpec = Field(alias="energy")

    _grid: tuple[str, ...] = PrivateAttr()
    _source: str = PrivateAttr(default="<data>")

    @model_validator(mode="after")
    def _check(self) -> Hardware:
        for n, ct in self.core_types.items():
            ct._name = n
        self._grid = self._layout()
        if not any(self.core_types[t].can_gemm for t in set(self._grid)):
            raise FieldError("mesh", "no core on the mesh can run GEMMs: every placed core "
                             "type has array_rows 0; place a core type with a systolic array")
        self._check_hbm()
        self._check_accumulators()
        return self

    def _check_accumulators(self) -> None:
        """The MAC figure and the accumulator register are never both charged, nor neither."""
        included = self.energy_spec.mac_includes_accumulator
        for n, ct in self.core_types.items():
            if included and ct.energy.accumulator is not None:
                raise FieldError(f"core_types.{n}.energy.accumulator", "given, but "
                                 "energy.mac_includes_accumulator is true: it would be charged "
                                 "twice", hint="set energy.mac_includes_accumulator: false")
            if not included and ct.can_gemm and ct.energy.accumulator is None:
                raise FieldError(f"core_types.{n}.energy.accumulator", "missing: energy."
                                 "mac_includes_accumulator is false, so the MAC figure leaves "
                                 "the partial-sum register out", hint="describe the per-PE "
                                 "accumulator (bytes, read_pj, write_pj, word_bits)")

    def _layout(self) -> tuple[str, ...]:
        m = self.mesh
        for path, t in [("mesh.fill", m.fill)] + [
            (f"mesh.regions[{i}].core", r.core) for i, r in enumerate(m.regions)
        ]:
            if t not in self.core_types:
                raise FieldError(path, f"unknown core type {t!r}; core_types defines "
                                 f"{', '.join(self.core_types)}")
        grid = [m.fill] * (m.rows * m.cols)
        for r in m.regions:
            for row in range(r.rows[0], r.rows[1] + 1):
                grid[row * m.cols + r.cols[0]: row * m.cols + r.cols[1] + 1] = (
                    [r.core] * (r.cols[1] - r.cols[0] + 1)
                )
        return tuple(grid)

    def _check_hbm(self) -> None:
        rows, cols = self.mesh_rows, self.mesh_cols
        for i, s in enumerate(self.hbm.stacks):
            for j, (r, c) in enumerate(s.attach):
                where = f"hbm.stacks[{i}].attach[{j}]"
                if r >= rows or c >= cols:
                    raise FieldError(where, f"core ({r}, {c}) is not on the {rows}x{cols} mesh")
                if not self.is_edge(r, c):
                    raise FieldError(where, f"core ({r}, {c}) is not on the mesh edge: a "
                                     "memory stack's PHY sits at the die edge")
                if (r, c) in s.attach[:j]:
                    raise FieldError(where, f"core ({r}, {c}) is listed twice")

    @property
    def source(self) -> str:
        """The file (or preset file) this machine was loaded from, for error messages."""
        return self._source

    # --- the mesh --------------------------------------------------------------------

    @property
    def mesh_rows(self) -> int:
        return self.mesh.rows

    @property
    def mesh_cols(self) -> int:
        return self.mesh.cols

    @property
    def n_cores(self) -> int:
        return self.mesh.rows * self.mesh.cols

    def is_edge(self, row: int, col: int) -> bool:
        return row in (0, self.mesh_rows - 1) or col in (0, self.mesh_cols - 1)

    def core_type_at(self, row: int, col: int) -> str:
        """Name of the core type at a mesh position."""
        if not (0 <= row < self.mesh_rows and 0 <= col < self.mesh_cols):
            raise MeshcError(f"({row}, {col}) is outside the {self.mesh_rows}x{self.mesh_cols} "
                             f"mesh of {self.name}")
        return self._grid[row * self.mesh_cols + col]

    @cached_property
    def cores(self) -> tuple[tuple[int, int, str], ...]:
        """(row, col, core type) for every core, row-major."""
        c = self.mesh_cols
        return tuple((i // c, i % c, t) for i, t in enumerate(self._grid))

    @cached_property
    def core_counts(self) -> FrozenMap[str, int]:
        """How many cores of each type the mesh holds (types placed nowhere count 0)."""
        return FrozenMap({n: self._grid.count(n) for n in self.core_types})

    def cores_of(self, core_type: str) -> tuple[tuple[int, int], ...]:
        return tuple((r, c) for r, c, t in self.cores if t == core_type)

    # --- memory, network, energy -----------------------------------------------------

    @property
    def energy(self) -> EnergyTable:
        return self.energy_spec.table

    @property
    def hbm_stacks(self) -> tuple[HbmStack, ...]:
        return self.hbm.stacks

    @property
    def hbm_bytes(self) -> int:
        return sum(s.bytes for s in self.hbm.stacks)

    @property
    def hbm_bytes_per_s(self) -> float:
        return sum(s.bytes_per_s for s in self.hbm.stacks)

    @property
    def sram_bytes(self) -> int:
        return sum(self.core_types[t].sram_bytes * n for t, n in self.core_counts.items())

    @property
    def noc_bisection_bytes_per_s(self) -> float:
        """Both directions across the cut that halves the longer side of the mesh."""
        if self.n_cores < 2:
            return 0.0
        links = min(self.mesh_rows, self.mesh_cols)
        return 2 * links * self.noc.link_bytes_per_s

    def peak_flops(self, precision: str) -> float:
        """Whole-chip FLOP/s (2 per MAC) of GEMMs stored at `precision`, summed over cores
        that can run them (at their execution precision)."""
        counts = ((self.core_types[t], n) for t, n in self.core_counts.items() if n)
        return float(sum(2 * n * ct.peak_macs_per_s(precision)
                         for ct, n in counts if ct.can_run(precision)))

    def summary(self) -> dict[str, Any]:
        """The facts `meshc hw show --format json` prints: peak, capacity and bandwidth
        totals; per-precision figures for native precisions."""
        native = [p for p in PRECISIONS if any(
            self.core_types[t].supports(p) for t, n in self.core_counts.items() if n)]
        peak = {p: self.peak_flops(p) for p in native}
        bw = self.hbm_bytes_per_s
        e = self.energy
        return {
            "name": self.name,
            "description": self.description,
            "mesh": [self.mesh_rows, self.mesh_cols],
            "cores": self.n_cores,
            "core_types": {
                name: {
                    "count": self.core_counts[name],
                    "array": [ct.array_rows, ct.array_cols],
                    "dataflow": ct.dataflow,
                    "macs_per_cycle": dict(ct.macs_per_cycle),
                    "vector_lanes": ct.vector_lanes,
                    "transcendental_per_cycle": ct.transcendental_per_cycle,
                    "sram_bytes": ct.sram_bytes,
                    "sram_bytes_per_cycle": ct.sram_bytes_per_cycle,
                    "clock_hz": ct.clock_hz,
                }
                for name, ct in self.core_types.items()
            },
            "peak_tflops": {p: round(f / 1e12, 3) for p, f in peak.items()},
            "sram_bytes": self.sram_bytes,
            "hbm_bytes": self.hbm_bytes,
            "hbm_bytes_per_s": bw,
            "hbm_stacks": len(self.hbm_stacks),
            "noc_bisection_bytes_per_s": self.noc_bisection_bytes_per_s,
            # schedules are timed in cycles of the NoC clock
            "noc": {"clock_hz": self.noc.clock_hz,
                    "link_bytes_per_cycle": self.noc.link_bytes_per_cycle,
                    "router_latency_cycles": self.noc.router_latency_cycles},
            # FLOPs per HBM byte at which a kernel stops being bandwidth-bound; None without HBM.
            "ridge_flops_per_byte": {p: (round(f / bw, 2) if bw else None)
                                     for p, f in peak.items()},
            "energy": {
                "node": e.node,
                "pj_per_mac": dict(e.pj_per_mac),
                "sram_pj_per_byte": round(e.sram_pj_per_byte, 4),
                "vector_pj_per_op": e.vector_pj_per_op,
                "transcendental_pj_per_op": e.transcendental_pj_per_op,
                "static_w_per_core": e.static_w_per_core,
                "noc_pj_per_byte_hop": self.noc.pj_per_byte_hop,
            },
        }
