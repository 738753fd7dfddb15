"""A core type of the hardware schema: its systolic array (or none), vector unit, local
SRAM, clock and per-core energies. Validated once by load.py, read by the cost model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from meshc.errors import MeshcError
from meshc.hardware import ranges as rg
from meshc.hardware.core_energy import CoreEnergy
from meshc.hardware.energy import DEFAULT_SRAM_MACRO_BYTES
from meshc.hardware.frozen import DUMP, FREEZE, FrozenMap
from meshc.hardware.precision import PRECISIONS, Precision, check_precision, precision_rank
from meshc.hardware.schema_base import CONFIG, FieldError

Dataflow = Literal["output_stationary", "weight_stationary", "input_stationary"]  # cost.py _folds


class CoreType(BaseModel):
    """One kind of core: a systolic array (or none), a vector unit, local SRAM, a clock."""

    model_config = CONFIG

    description: str = ""
    array_rows: rg.ArraySide = Field(description="PE rows; 0 for a core without an array")
    array_cols: rg.ArraySide = Field(description="PE columns; 0 for a core without an array")
    dataflow: Dataflow | None = Field(None, description="required when the core has an array")
    macs_per_cycle: Annotated[Mapping[Precision, rg.MacsPerCycle], FREEZE, DUMP] = Field(
        default_factory=FrozenMap,
        description="array MACs per cycle for each precision it multiplies natively",
    )
    double_buffered: bool = Field(
        False, description="the array loads the next fold's stationary operand while the "
        "current one streams (TPU MXU weight FIFO); false is SCALE-Sim's serial folds",
    )
    weight_load_bytes_per_cycle: rg.SramBytesPerCycle | None = Field(
        None, description="bytes per cycle into the array's stationary registers; default one "
        "row of array_cols elements of its widest precision per cycle (cost.load_cycles)",
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
        elif (self.macs_per_cycle or self.dataflow or self.double_buffered
              or self.weight_load_bytes_per_cycle is not None):
            field = ("macs_per_cycle" if self.macs_per_cycle
                     else "dataflow" if self.dataflow
                     else "double_buffered" if self.double_buffered
                     else "weight_load_bytes_per_cycle")
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
    def precisions(self) -> tuple[Precision, ...]:
        """Natively multiplied precisions, narrowest first."""
        return tuple(p for p in PRECISIONS if p in self.macs_per_cycle)

    def supports(self, precision: str) -> bool:
        return check_precision(precision) in self.macs_per_cycle

    def can_run(self, precision: str) -> bool:
        """Whether the array multiplies `precision`, natively or at a wider precision."""
        return any(p in self.macs_per_cycle for p in PRECISIONS[precision_rank(precision):])

    def exec_precision(self, precision: str) -> Precision:
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
