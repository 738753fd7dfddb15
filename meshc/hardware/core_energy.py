"""The energy of the memory levels inside one core: per-PE registers and the local SRAM.

A core type's optional `energy:` block. Everything defaults to today's model (no register
is charged; SRAM reads and writes cost the node table's pJ/byte at the core's macro size),
so schema-1 files load unchanged. tile_energy.py is the one place that charges them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from meshc.hardware import ranges as rg
from meshc.hardware.schema_base import CONFIG as _CONFIG
from meshc.hardware.schema_base import FieldError


class Register(BaseModel):
    """One per-PE register file of one operand. An access moves one word of `word_bits`
    (the port width, as in ZigZag's cost model): an element wider than the word takes
    ceil(bits / word_bits) accesses, a narrower one still a whole access."""

    model_config = _CONFIG

    bytes: rg.RegisterBytes = Field(description="capacity per PE")
    read_pj: rg.PicoJoules = Field(description="pJ per read access of one word")
    write_pj: rg.PicoJoules = Field(description="pJ per write access of one word")
    word_bits: rg.WordBits = Field(description="bits moved per access (the port width)")

    @model_validator(mode="after")
    def _word_fits(self) -> Register:
        if self.word_bits > 8 * self.bytes:
            raise FieldError("word_bits", f"a {self.word_bits}-bit word does not fit a "
                             f"{self.bytes}-byte register")
        return self


class Buffer(BaseModel):
    """A per-PE operand buffer between the core's SRAM and the MACs, shared by a group of
    MACs (Simba's input, weight and accumulation buffers; Shao et al., MICRO 2019). A read
    moves one word of `word_bits`, which carries as many elements as fit (an element wider
    than the word takes several). What the SRAM sends the array is written into it once;
    the array reads it back once for every `macs_per_read` MACs it feeds (the spatial reuse
    of one read inside the group: a Simba input feeds its PE's 8 vector MACs). tile_energy.py
    counts the accesses."""

    model_config = _CONFIG

    bytes: rg.RegisterBytes = Field(description="capacity per PE")
    read_pj: rg.PicoJoules = Field(description="pJ per read access of one word")
    write_pj: rg.PicoJoules = Field(description="pJ per write access of one word")
    word_bits: rg.WordBits = Field(description="bits moved per access (the port width)")
    macs_per_read: rg.MacsPerRead = Field(
        1, description="MACs one element read from the buffer feeds (its spatial reuse)")


class CoreEnergy(BaseModel):
    """Per-access energies of a core's own memory levels (module docstring)."""

    model_config = _CONFIG

    # Defaults by keyword: type checkers read only `default=` as one, and CoreType builds a
    # CoreEnergy() with no arguments (its default_factory).
    weight_register: Register | None = Field(
        default=None, description="per-PE register holding the weight (B) operand; none: not charged")
    input_register: Register | None = Field(
        default=None, description="per-PE register holding the input (A) operand; none: not charged")
    accumulator: Register | None = Field(
        default=None, description="per-PE partial-sum register; give it only when energy."
        "mac_includes_accumulator is false (else the MAC figure already pays for it)")
    input_buffer: Buffer | None = Field(
        default=None, description="per-PE buffer of the input (A) operand; none: not charged")
    weight_buffer: Buffer | None = Field(
        default=None, description="per-PE buffer of the weight (B) operand; none: not charged")
    accumulation_buffer: Buffer | None = Field(
        default=None, description="per-PE buffer of partial sums; none: not charged")
    sram_read_pj_per_byte: rg.PicoJoules | None = Field(
        default=None, description="local SRAM read; none: the node table at sram_macro_bytes")
    sram_write_pj_per_byte: rg.PicoJoules | None = Field(
        default=None, description="local SRAM write; none: the node table at sram_macro_bytes")

    @property
    def has_registers(self) -> bool:
        return any(r is not None for r in (self.weight_register, self.input_register,
                                           self.accumulator))
