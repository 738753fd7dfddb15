"""What a compile produces, as frozen values: the input of every backend.

Times are seconds of simulated hardware time unless a name says cycles; energies are
picojoules; every mapping is sorted so that serialising it is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshc.quality import Quality

Core = tuple[int, int]
Rect = tuple[int, int, int, int]  # r0, c0, r1, c1 (inclusive): a bounding box
Steps = tuple[int, int]  # row and column step of a strided rectangle; (1, 1): every core

SCHEMA_VERSION = 2


@lru_cache(maxsize=1 << 12)  # asked per op and per backend; repeated layers share rectangles
def rect_cores(rect: Rect, step: Steps = (1, 1)) -> tuple[Core, ...]:
    """The cores of a (strided) rectangle, row-major: the tile spreading order."""
    r0, c0, r1, c1 = rect
    return tuple((r, c) for r in range(r0, r1 + 1, step[0])
                 for c in range(c0, c1 + 1, step[1]))

ENERGY_COMPONENTS = ("mac", "reg", "vector", "transcendental", "sram", "noc", "hbm", "static")


@dataclass(frozen=True)
class OpRecord:
    """One tiled op after mapping and simulation."""

    name: str  # stable label, e.g. "decode.L3.mlp.down"
    op_class: str  # the graph op it came from without dialect: "linear", "attention", ...
    kind: str  # gemm | vector | memory
    layer: int
    block: str  # attention | mlp | other
    region: str
    precision: str  # what the core executes at
    n_tiles: int
    tile_shape: tuple[int, int, int]  # (m, n, k)
    macs: int
    padded_macs: int
    vector_ops: int
    transcendental_ops: int
    sram_bytes: int  # SRAM bytes read and written by all tiles
    hbm_read_bytes: int
    hbm_write_bytes: int
    rect: Rect
    planned_start_s: float  # the mapper's schedule
    planned_end_s: float
    start_s: float  # the simulator's replay
    end_s: float
    compute_s: float  # time the op's cores spend computing (longest core)
    energy_pj: Mapping[str, float]  # by ENERGY_COMPONENTS (static excluded)
    step: Steps = (1, 1)  # of a strided rectangle
    # off-chip traffic beyond the streamed weights and KV cache (docs/simulator.md, "Memory")
    spill_write_bytes: int = 0  # its output sent off chip because SRAM was full
    spill_read_bytes: int = 0  # its spilled inputs read back from off chip
    input_read_bytes: int = 0  # phase inputs it reads from off chip
    output_write_bytes: int = 0  # its result written off chip as a phase output
    spill_energy_pj: float = 0.0  # of its spill traffic (SRAM, off chip, NoC; in energy_pj)
    cold_load_bytes: int = 0  # a cold run: resident weights it is the first to load from off chip

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.vector_ops + self.transcendental_ops

    @property
    def cores(self) -> tuple[Core, ...]:
        return rect_cores(self.rect, self.step)


@dataclass(frozen=True)
class TransferRecord:
    """Bytes moved over the NoC from one core to another (XY routed)."""

    src_op: str
    dst_op: str  # "" for an HBM transfer
    src_core: Core
    dst_core: Core
    bytes: int
    hops: int
    start_s: float
    end_s: float
    links: tuple[tuple[Core, Core], ...]  # the links crossed, in order


@dataclass(frozen=True)
class HbmRecord:
    """An HBM port serving one op's reads and writes."""

    op: str
    port: Core  # the edge core the stack attaches to
    read_bytes: int
    write_bytes: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class MapperStats:
    solver: str  # cpsat | heft
    status: str
    makespan_s: float
    heft_makespan_s: float
    lower_bound_s: float
    solve_time_s: float
    fell_back: bool
    wall_limit_hit: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)  # the mapper options that ran
    fallback_reason: str = ""  # why the mapper's own plan was not kept ("" when it was)
    notes: tuple[str, ...] = ()  # what the mapper found for the user


@dataclass(frozen=True)
class PhaseResult:
    name: str  # prefill | decode | graph
    tokens: int
    latency_s: float  # simulated
    lower_bound_s: float
    macs: int
    peak_flops: float  # chip peak at the precision most MACs execute at
    energy_breakdown_pj: Mapping[str, float]  # ENERGY_COMPONENTS; sums to energy_pj
    energy_by_op_class_pj: Mapping[str, float]  # static excluded
    core_busy_s: Mapping[str, float]  # "r,c" -> seconds computing
    sram_peak_bytes: Mapping[str, int]  # "r,c" -> peak occupancy
    mapper: MapperStats
    ops: tuple[OpRecord, ...]
    transfers: tuple[TransferRecord, ...]
    hbm: tuple[HbmRecord, ...]
    n_cores: int

    @property
    def energy_pj(self) -> float:
        return float(sum(self.energy_breakdown_pj.values()))

    @property
    def spilled_bytes(self) -> int:
        """Bytes of values sent off chip because SRAM was full (each value once)."""
        return sum(o.spill_write_bytes for o in self.ops)

    @property
    def reloaded_bytes(self) -> int:
        """Bytes of spilled values read back by their consumers."""
        return sum(o.spill_read_bytes for o in self.ops)

    @property
    def spill_energy_pj(self) -> float:
        """Energy of the spill traffic, both ways (part of energy_pj)."""
        return float(sum(o.spill_energy_pj for o in self.ops))

    @property
    def cold_load_bytes(self) -> int:
        """A cold run's resident weights loaded from off chip (each once)."""
        return sum(o.cold_load_bytes for o in self.ops)

    @property
    def input_offchip_bytes(self) -> int:
        return sum(o.input_read_bytes for o in self.ops)

    @property
    def output_offchip_bytes(self) -> int:
        return sum(o.output_write_bytes for o in self.ops)

    @property
    def pj_per_token(self) -> float:
        return self.energy_pj / self.tokens

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.latency_s if self.latency_s > 0 else 0.0

    @property
    def achieved_tflops(self) -> float:
        return 2 * self.macs / self.latency_s / 1e12 if self.latency_s > 0 else 0.0

    @property
    def compute_utilization(self) -> float:
        """Achieved MAC throughput over the chip's peak."""
        return self.achieved_tflops * 1e12 / self.peak_flops if self.peak_flops else 0.0

    @property
    def idle_compute_fraction(self) -> float:
        """Share of the chip's peak MAC capacity over the phase that does no useful MAC:
        1 - compute_utilization. A core streaming a GEMV through a 256x256 array is busy
        but almost all of its multipliers idle; `core_occupancy` measures the other thing."""
        return 1.0 - self.compute_utilization

    @property
    def core_occupancy(self) -> float:
        """Share of core-time in which cores execute tiles (at any efficiency)."""
        total = self.n_cores * self.latency_s
        return sum(self.core_busy_s.values()) / total if total > 0 else 0.0


@dataclass(frozen=True)
class CompileResult:
    model: str
    hardware: str  # preset name or file
    hardware_summary: Mapping[str, Any]  # `meshc hw show --format json` of the machine
    mesh: tuple[int, int]
    pipeline: str  # the pass list that ran
    phases: tuple[PhaseResult, ...]
    compile_time_s: float  # wall clock: timings.json only, never in the reports
    options: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[tuple[str, str], ...] = ()  # (who found it, one sentence) in order
    timings_s: Mapping[str, float] = field(default_factory=dict)  # wall clock per step
    weight_homes: Mapping[str, int] = field(default_factory=dict)  # "sram"|"hbm" -> bytes
    quality: Quality | None = None  # loss and perplexity at the served precisions

    @property
    def cold(self) -> bool:
        """A cold run: resident weights started off chip (CompileOptions.cold)."""
        return bool(self.options.get("cold", False))

    @property
    def weights_where(self) -> str:
        """Where the weights live, in words: "all 16.1 GB streamed from HBM"."""
        from meshc.units import fmt_bytes

        sram, hbm = self.weight_homes.get("sram", 0), self.weight_homes.get("hbm", 0)
        if not sram and not hbm:
            return "no weights"
        if not hbm:
            return f"all {fmt_bytes(sram, exact=False)} resident in SRAM"
        if not sram:
            return f"all {fmt_bytes(hbm, exact=False)} streamed from HBM"
        return (f"{fmt_bytes(sram, exact=False)} resident in SRAM, "
                f"{fmt_bytes(hbm, exact=False)} streamed from HBM")

    def phase(self, name: str) -> PhaseResult:
        return next(p for p in self.phases if p.name == name)

    @property
    def decode_over_prefill_cost_per_token(self) -> float | None:
        names = {p.name for p in self.phases}
        if not {"prefill", "decode"} <= names:
            return None
        return self.phase("decode").pj_per_token / self.phase("prefill").pj_per_token
