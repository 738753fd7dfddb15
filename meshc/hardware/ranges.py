"""The physical range of every number in a hardware file, as pydantic field types.

A value outside its range is a typo or a unit slip (Hz for GHz, 16e6 for 16e9) that would
give a silently absurd schedule, or overflow the cost model's int64 arithmetic (cost.py
divides by the rates, so they have floors too). Each ceiling is at least 100x the largest
real figure (the presets and notes/hwnumbers.md). NaN and infinities are refused by the
models' `allow_inf_nan=False`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

MAX_MESH_SIDE = 10_000  # a typo like 1e9 rows fails here; the cores limit bounds the product


def _no_bool(v: Any) -> Any:
    # YAML `true` would otherwise pass as the number 1: a silent wrong value.
    if isinstance(v, bool):
        raise ValueError("expected a number")
    return v


_N = BeforeValidator(_no_bool)

Hz = Annotated[float, _N, Field(ge=1e3, le=1e11)]  # 1 kHz .. 100 GHz; CMOS logic tops at ~5 GHz
# Groq's 320x320 is the largest shipped array; 4096 keeps rows*cols at most 2^24.
ArraySide = Annotated[int, _N, Field(ge=0, le=4096)]
MacsPerCycle = Annotated[int, _N, Field(ge=1, le=1 << 28)]  # Groq: 102,400 per core
Lanes = Annotated[int, _N, Field(ge=1, le=1 << 20)]  # Groq: 1,280 per core
# special-function ops: one per 1000 cycles (software exp) .. a million per cycle
PerCycle = Annotated[float, _N, Field(ge=1e-3, le=1 << 20)]
SramBytes = Annotated[int, _N, Field(ge=1, le=10**13)]  # 10 TB; Groq holds 57.5 MB per core
# No SRAM port is narrower than a byte; Groq's is 21,845 B/cycle per core.
SramBytesPerCycle = Annotated[float, _N, Field(ge=1, le=1 << 24)]
# A 1-bit serial link .. 1 MB per cycle; real NoC links carry 4-320 B per cycle.
LinkBytesPerCycle = Annotated[float, _N, Field(ge=0.125, le=1 << 20)]
MeshSide = Annotated[int, _N, Field(ge=1, le=MAX_MESH_SIDE)]
RouterCycles = Annotated[int, _N, Field(ge=0, le=10_000)]  # a router hop takes 1-5 cycles
HbmBytes = Annotated[int, _N, Field(ge=1, le=10**15)]  # 1 PB; an HBM3e stack holds 36 GB
HbmBytesPerS = Annotated[float, _N, Field(ge=1e6, le=1e15)]  # an HBM3e stack gives 1.2e12
PicoJoules = Annotated[float, _N, Field(gt=0, le=1e4)]  # 10 nJ; an f32 MAC at 45 nm: 4.6 pJ
PicoJoulesOrZero = Annotated[float, _N, Field(ge=0, le=1e4)]
Watts = Annotated[float, _N, Field(ge=0, le=1e4)]  # 10 kW per core; a whole H100 draws 700 W
# A per-PE register holds 1 B (one int8 operand) .. 1 MB (far above any real register file).
RegisterBytes = Annotated[int, _N, Field(ge=1, le=1 << 20)]
WordBits = Annotated[int, _N, Field(ge=1, le=1 << 16)]  # one access moves 1 bit .. 8 KB
MacsPerRead = Annotated[int, _N, Field(ge=1, le=1 << 20)]  # a buffer read's spatial reuse
# Systems of chips (system.py). NVLink 5 carries 50 GB/s per link per direction, a Dojo die edge
# (one link here) 2 TB/s.
LinkBytesPerS = Annotated[float, _N, Field(ge=1e6, le=1e15)]
# 0 (an ideal link) .. 10 ms; real hops take 1 ns (on a wafer) .. a few microseconds.
LinkSeconds = Annotated[float, _N, Field(ge=0, le=1e-2)]
LinksPerChip = Annotated[int, _N, Field(ge=1, le=4096)]  # NVLink: 18; a wafer slice: 256
ChipCount = Annotated[int, _N, Field(ge=1, le=1_000_000)]  # a TPU v5p pod: 8,960 chips
ChipsPerAxis = Annotated[int, _N, Field(ge=1, le=1_000_000)]
