"""Where every tensor lives during a replay: SRAM homes per core, and spills off chip.

The rule (docs/simulator.md, "Memory"):

* resident weights (partition-attn-mlp's `sram` residency; without off-chip memory, the KV
  cache too) live on the cores of the ops that use them for the whole phase, split evenly
  over each op's rectangle (one copy per parameter and rectangle);
* a running op's tiles need their working set (tile_work `sram_bytes`) on every core that
  runs some of them, from the op's start to its end;
* an op's output lives in its producers' SRAM, each core holding the share of its tiles
  (meshc.hardware.spread), from the op's end until its last consumer has ended;
* a phase input starts off chip; when several ops read it, the first one replayed brings it
  on chip and it then lives in that op's SRAM like its output (keyed after the ops: index
  n_ops + input index), from that op's end until its last reader has ended;
* when a core would hold more than its SRAM, the live value whose next consumer is planned
  latest goes off chip (Belady's rule on the mapper's order); the op's own inputs go
  last but one, and last a value a consumer already placed is still reading: the op waits
  for that read to end (and for the write of the value off chip, if another consumer
  needs it later). A machine
  without off-chip memory that overflows cannot run the phase: `MeshcError` names the
  core, the bytes and the capacity.

The ledger is checked at the instants occupancy can grow on a core (an op's start and its
end), which come in replay order on each core (a core runs its ops in order); values freed
later than the check are counted as present, so the check never under-counts. The peak
per core is then measured exactly from the recorded intervals (`peaks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from meshc.errors import MeshcError
from meshc.hardware.spread import resident_per_core
from meshc.sim.model import SimOp

Core = tuple[int, int]
INF = float("inf")


@dataclass
class Value:
    """An op's output while it has a home on chip (mutable ledger entry)."""

    op: int  # the op whose cores hold it: its producer (or a phase input's first reader)
    share: dict[Core, int]  # bytes on each producer core
    since: float  # the producer's end (cycles)
    consumers: set[int]  # consumers not yet replayed
    read_until: float = 0.0  # latest end of the replayed consumers that read it on chip
    spilled_at: float | None = None  # when its off-chip copy is complete

    @property
    def bytes(self) -> int:
        return sum(self.share.values())


@dataclass
class Memory:
    """SRAM of every core over one replay: resident bytes, live values, the intervals."""

    capacity: dict[Core, int]
    resident: dict[Core, int]
    planned_start: Sequence[float]  # per op: the mapper's start, to rank next uses
    offchip: bool  # the machine has off-chip memory to spill to
    values: dict[int, Value] = field(default_factory=dict)
    live: dict[Core, set[int]] = field(default_factory=dict)
    intervals: dict[Core, list[tuple[float, float, int]]] = field(default_factory=dict)
    _pending_consumers: dict[int, set[int]] = field(default_factory=dict)

    def occupancy(self, core: Core, t: float) -> int:
        """Bytes held on `core` at `t` as far as the replay knows (never an under-count)."""
        held = self.resident.get(core, 0)
        values = self.values
        for v in self._prune(core, t):
            held += values[v].share[core]
        return held

    def crowded(self, need: Iterable[tuple[Core, int]], t: float) -> list[Core]:
        """The cores of `need` (core, bytes to add) where the bytes would not fit at `t`: one
        pass over an op's rectangle before asking `victims` core by core. Spills and later
        instants only free room, so a core that fits now fits when its turn comes."""
        out = []
        for c, extra in need:  # a core without live values holds its resident bytes only
            held = self.occupancy(c, t) if self.live.get(c) else self.resident.get(c, 0)
            if held + extra > self.capacity[c]:
                out.append(c)
        return out

    def _prune(self, core: Core, t: float) -> set[int]:
        """The values still held on `core` at `t` (unordered)."""
        ids = self.live.get(core)
        if not ids:
            return set()
        values = self.values
        gone = [v for v in ids if not values[v].consumers and values[v].read_until <= t]
        ids.difference_update(gone)  # checks on one core come in time order: freed stays freed
        return ids

    def _live(self, core: Core, t: float) -> list[int]:
        return sorted(self._prune(core, t))

    def _next_use(self, v: Value) -> float:
        return min((self.planned_start[j] for j in v.consumers), default=INF)

    def victims(self, core: Core, t: float, extra: int, keep: set[int],
                own: tuple[int, int] | None = None) -> list[int]:
        """The values to move off chip so that `extra` more bytes fit on `core` at `t`,
        latest next use first; `keep` (the op's own inputs) only when nothing else helps,
        values still being read by a placed consumer last (the op waits for its read, and
        one with no consumer left is then simply freed).
        `own` = (op, bytes on this core) of an output about to be homed: -1 in the list
        means that output does not stay. Raises when even all candidates are not enough."""
        cap = self.capacity[core]
        over = self.occupancy(core, t) + extra - cap
        if over <= 0:
            return []
        cands = [(v, self.values[v].share[core], self._next_use(self.values[v]),
                  self.values[v].read_until > t) for v in self._live(core, t)]
        if own is not None:
            cands.append((-1, own[1], min((self.planned_start[j] for j in
                                           self._consumers_of(own[0])), default=INF), False))
        # values a placed consumer is still reading go last: the op then waits for them
        cands.sort(key=lambda x: (x[3], x[0] in keep, -x[2], -x[1], x[0]))
        out: list[int] = []
        for v, b, _, _ in cands:
            if over <= 0:
                break
            out.append(v)
            over -= b
        if over > 0 or (out and not self.offchip):
            need = cap + over if self.offchip else self.occupancy(core, t) + extra
            where = ("and the machine has no off-chip memory to spill to"
                     if not self.offchip else "even with every value spilled off chip")
            raise MeshcError(
                f"core {core[0]},{core[1]} needs {need:,} B of SRAM at cycle {t:,.0f} but has "
                f"{cap:,} B ({self.resident.get(core, 0):,} B of resident weights and KV "
                f"cache) {where}",
                hint="use a machine with more SRAM or off-chip memory, fewer tokens "
                     "(--seq, --batch), or a finer tile grain")
        return out

    def _consumers_of(self, op: int) -> set[int]:
        return self._pending_consumers.get(op, set())

    def announce(self, op: int, consumers: set[int]) -> None:
        """The consumers of `op`'s output, before its placement asks for room."""
        self._pending_consumers[op] = set(consumers)

    def spill(self, v: int, written_at: float) -> None:
        """Value `v` is off chip from `written_at` on; its home ends then (or when the
        consumers already reading it end, if later)."""
        val = self.values[v]
        val.spilled_at = written_at
        end = max(written_at, val.read_until)
        for c, b in val.share.items():
            self.live.get(c, set()).discard(v)
            self._book(c, val.since, end, b)

    def working_set(self, cores: Sequence[Core], start: float, end: float, n_bytes: int) -> None:
        """The running tiles' `n_bytes` on each of `cores` from `start` to `end`."""
        if end > start and n_bytes > 0:
            for c in cores:
                self.intervals.setdefault(c, []).append((start, end, n_bytes))

    def home(self, op: int, share: dict[Core, int], since: float, holder: int | None = None) -> None:
        """Value `op` (an op's output, or a phase input held by op `holder`) is on chip from
        `since` on, until its consumers have read it."""
        consumers = self._pending_consumers.pop(op, set())
        if not consumers:
            return  # nothing reads it on chip: its tiles' buffers were its only home
        self.values[op] = Value(op=op if holder is None else holder, share=share, since=since,
                                consumers=consumers)
        for c in share:
            self.live.setdefault(c, set()).add(op)

    def discard(self, op: int) -> None:
        """`op`'s output will not be homed on chip (it streams off chip as produced)."""
        self._pending_consumers.pop(op, None)

    def read(self, v: int, consumer: int, end: float) -> None:
        """`consumer` (ending at `end`) has read value `v`: on chip, or off chip if spilled."""
        val = self.values.get(v)
        if val is None:
            return
        val.consumers.discard(consumer)
        if val.spilled_at is None:
            val.read_until = max(val.read_until, end)
            if not val.consumers:
                for c, b in val.share.items():
                    self._book(c, val.since, val.read_until, b)

    def is_spilled(self, v: int) -> float | None:
        val = self.values.get(v)
        return None if val is None else val.spilled_at

    def _book(self, core: Core, start: float, end: float, n_bytes: int) -> None:
        if end > start and n_bytes > 0:
            self.intervals.setdefault(core, []).append((start, end, n_bytes))

    def peaks(self) -> dict[Core, int]:
        """Peak bytes held on every core: resident bytes plus the largest sum of the
        recorded intervals [start, end) alive at one instant."""
        return {c: self.resident.get(c, 0) + peak_of(self.intervals.get(c, []))
                for c in self.capacity}


def peak_of(intervals: Sequence[tuple[float, float, int]]) -> int:
    """Largest total of half-open intervals [start, end) alive at one instant: a sweep in
    which, at equal times, ends come before starts."""
    if not intervals:
        return 0
    a = np.asarray(intervals, dtype=np.float64)
    t = np.concatenate([a[:, 1], a[:, 0]])
    d = np.concatenate([-a[:, 2], a[:, 2]])
    order = np.lexsort((d, t))  # by time, then the frees (negative) first
    return int(max(0, np.cumsum(d[order]).max()))


def resident_bytes(ops: Sequence[SimOp],
                   regions: Mapping[str, tuple[Core, ...]] | None = None) -> dict[Core, int]:
    """Bytes of resident weights (and KV cache) per core: each op's `resident` entries split
    evenly over its region's cores (where partition-attn-mlp found room for them; without
    `regions`, over the op's rectangle), one copy per parameter and set of cores."""
    return resident_per_core((home_cores(op, regions), op.resident) for op in ops)


def home_cores(op: SimOp, regions: Mapping[str, tuple[Core, ...]] | None = None
               ) -> tuple[Core, ...]:
    """The cores `op`'s resident weights live on: its region's, else its rectangle's."""
    return regions[op.region] if regions and op.region in regions else op.cores
