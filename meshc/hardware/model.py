"""The machine as data: frozen, validated models of a 2D mesh-of-cores accelerator.

Only meshc/hardware/load.py builds these from raw YAML; everything else reads them.
Checks that span fields raise `FieldError`, which load.py turns into a MeshcError naming
the YAML path (pydantic alone would only name the enclosing object).
"""

from __future__ import annotations

from functools import cached_property
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

from meshc import limits
from meshc.errors import MeshcError
from meshc.hardware import ranges as rg
from meshc.hardware.core_energy import CoreEnergy
from meshc.hardware.energy import DEFAULT_SRAM_MACRO_BYTES, NODES, EnergyTable
from meshc.hardware.frozen import DUMP, FREEZE, FrozenMap
from meshc.hardware.precision import PRECISIONS, Precision, check_precision, precision_rank

SCHEMA_VERSION = 1

Dataflow = Literal["output_stationary", "weight_stationary", "input_stationary"]  # cost.py _folds
NodeName = Literal["45nm", "14nm", "7nm"]  # the keys of energy.NODES (a test checks)
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")]

_CONFIG = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class FieldError(ValueError):
    """A failed check pinned to `field`, a path below the object that raised it."""

    def __init__(self, field: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # "" pins it to the object itself
        self.hint = hint


class CoreType(BaseModel):
    """One kind of core: a systolic array (or none), a vector unit, local SRAM, a clock."""

    model_config = _CONFIG

    description: str = ""
    array_rows: rg.ArraySide = Field(description="PE rows; 0 for a core without an array")
    array_cols: rg.ArraySide = Field(description="PE columns; 0 for a core without an array")
    dataflow: Dataflow | None = Field(None, description="required when the core has an array")
    macs_per_cycle: Annotated[dict[Precision, rg.MacsPerCycle], FREEZE, DUMP] = Field(
        default_factory=FrozenMap,
        description="array MACs per cycle for each precision it multiplies natively",
    )
    double_buffered: bool = Field(
        False, description="the array loads the next fold's stationary operand while the "
        "current one streams (TPU MXU weight FIFO); false is SCALE-Sim's serial folds",
    )
    vector_lanes: rg.Lanes = Field(description="plain vector ops per cycle")
    transcendental_per_cycle: rg.PerCycle = Field(description="exp/tanh/erf/rsqrt per cycle")
    sram_bytes: rg.SramBytes
    sram_bytes_per_cycle: rg.SramBytesPerCycle
    sram_macro_bytes: rg.SramBytes = Field(
        DEFAULT_SRAM_MACRO_BYTES, description="SRAM bank size one access hits (sets pJ/byte)"
    )
    clock_hz: rg.Hz
    energy: CoreEnergy = Field(default_factory=CoreEnergy, description="per-access energies "
                               "of the core's registers and SRAM (core_energy.py)")

    _name: str = PrivateAttr(default="?")

    @model_validator(mode="after")
    def _check_array(self) -> CoreType:
        if self.array_rows or self.array_cols:
            for f in ("array_rows", "array_cols"):
                if not getattr(self, f):
                    raise FieldError(f, "must be positive when the other array dimension is set "
                                     "(a core without a systolic array sets both to 0)")
            if not self.macs_per_cycle:
                raise FieldError("macs_per_cycle", "a core with a systolic array needs MACs per "
                                 "cycle for at least one precision")
            if self.dataflow is None:
                raise FieldError("dataflow", "a core with a systolic array needs a dataflow: "
                                 "output_stationary, weight_stationary or input_stationary")
        elif self.macs_per_cycle or self.dataflow or self.double_buffered:
            field = ("macs_per_cycle" if self.macs_per_cycle
                     else "dataflow" if self.dataflow else "double_buffered")
            raise FieldError(field, "given, but array_rows and array_cols are 0: only a core "
                             "with a systolic array multiplies matrices")
        return self

    @property
    def name(self) -> str:
        return self._name

    @property
    def can_gemm(self) -> bool:
        return self.array_rows > 0

    @property
    def precisions(self) -> tuple[str, ...]:
        """Natively multiplied precisions, narrowest first."""
        return tuple(p for p in PRECISIONS if p in self.macs_per_cycle)

    def supports(self, precision: str) -> bool:
        return check_precision(precision) in self.macs_per_cycle

    def can_run(self, precision: str) -> bool:
        """Whether the array multiplies `precision`, natively or at a wider precision."""
        return any(p in self.macs_per_cycle for p in PRECISIONS[precision_rank(precision):])

    def exec_precision(self, precision: str) -> str:
        """The precision the array runs `precision` at: itself, else the next wider it has."""
        for p in PRECISIONS[precision_rank(precision):]:
            if p in self.macs_per_cycle:
                return p
        have = ", ".join(self.precisions) or "nothing (no systolic array)"
        raise MeshcError(
            f"core type {self._name!r} cannot multiply {precision}: it supports {have}, "
            "none at least as wide",
            where=f"core_types.{self._name}.macs_per_cycle",
            hint="quantize to a supported precision or add one to macs_per_cycle",
        )

    def peak_macs_per_s(self, precision: str) -> float:
        return self.macs_per_cycle[self.exec_precision(precision)] * self.clock_hz


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
    pj_per_mac: Annotated[dict[Precision, rg.PicoJoules], FREEZE, DUMP] = Field(
        default_factory=FrozenMap, description="overrides of the node table, per precision"
    )
    sram_pj_per_byte_by_macro_bytes: Annotated[dict[rg.SramBytes, rg.PicoJoules], FREEZE, DUMP] = (
        Field(default_factory=FrozenMap, description="replaces the node's SRAM table when given")
    )
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
    core_types: Annotated[dict[Name, CoreType], FREEZE, DUMP] = Field(min_length=1)
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
        """The facts `meshc hw show --format json` prints."""
        from meshc.hardware.summary import summarize

        return summarize(self)
