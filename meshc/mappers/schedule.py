"""The schedule value: op placements and transfers, in cycles. Tiles are not listed: the
spreading rule (meshc.hardware.spread) places them from each op's rectangle and span."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshc.mappers.problem import Core

SCHEMA_VERSION = "3"


@dataclass(frozen=True, slots=True, kw_only=True)
class OpPlacement:
    """Op `op` holds every core of rectangle (r0, c0)..(r1, c1) (inclusive; every `rs`-th row
    and `cs`-th column) over [start, end)."""

    op: int
    r0: int
    c0: int
    r1: int
    c1: int
    start: int
    end: int
    rs: int = 1
    cs: int = 1

    @property
    def rect(self) -> tuple[int, int, int, int]:
        """The bounding box (r0, c0, r1, c1)."""
        return (self.r0, self.c0, self.r1, self.c1)

    @property
    def steps(self) -> tuple[int, int]:
        return (self.rs, self.cs)


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """The data of edge src -> dst: leaves `src_core` at `start`, is all at `dst_core` by `end`.

    `src_core`/`dst_core` are the closest pair of cores of the two rectangles (the path the
    hop count measures)."""

    src: int
    dst: int
    bytes: int
    start: int
    end: int
    src_core: Core
    dst_core: Core


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Schedule:
    """A complete schedule in cycles. Compare schedules through `to_json_dict()`."""

    ops: tuple[OpPlacement, ...]
    transfers: tuple[Transfer, ...]
    makespan: int

    def to_json_dict(self) -> dict[str, Any]:
        """Plain, deterministic content: ops by id, transfers by (src, dst, start). Dump with
        `json.dumps(..., sort_keys=True)`."""
        transfers = sorted(self.transfers, key=lambda t: (t.src, t.dst, t.start, t.bytes))
        return {
            "schema_version": SCHEMA_VERSION,
            "makespan_cycles": int(self.makespan),
            "ops": [
                {"op": p.op, "rect": list(p.rect), "step": list(p.steps), "start": p.start,
                 "end": p.end}
                for p in sorted(self.ops, key=lambda p: p.op)
            ],
            "transfers": [
                {"src": t.src, "dst": t.dst, "bytes": t.bytes, "start": t.start, "end": t.end,
                 "src_core": list(t.src_core), "dst_core": list(t.dst_core)}
                for t in transfers
            ],
        }
