"""Independent checker of a schedule against its problem, op by op.

It shares no code with the schedulers: durations and resource usage are recomputed here
from the rules written in docs/mapper.md; the transfer delay is the hardware layer's
(meshc.hardware.transfers), the one rule the schedulers and the simulator also ask.

A schedule places ops, not tiles: the spreading rule (meshc.hardware.spread) puts tile k of
an op on c cores on core k mod c, wave k div c, and wave m starts at start + m * floor(D / w)
for an op of w waves lasting D cycles. Those tiles fit their op's span, one at a time on each
core, exactly when D >= w * (the slowest core's tile cycles), the compute part of the duration
rule: so checking each op's duration checks its tiles without listing them. Every check works
on intervals per op and per (op, core) pair, never per tile. It checks that

* every op has one placement on a rectangle of usable cores of its region, lasting at least
  its duration (hence its tiles fit its span and never overlap on a core);
* no two ops holding a common core overlap in time;
* every dependency has its transfer, leaving after the producer ends, lasting at least the
  transfer delay, arriving before the consumer starts, between cores of the two rectangles;
  and every transfer belongs to a dependency;
* the SRAM working sets on every core stay within that core's SRAM at every instant;
* the HBM rates (bytes / duration of each running op) never sum above the HBM bandwidth.

`validate` returns human-readable violations (empty when the schedule is valid).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from meshc.hardware.transfers import transfer_cycles
from meshc.mappers.problem import Core, MappingProblem
from meshc.mappers.schedule import OpPlacement, Schedule, Transfer

MAX_PER_CHECK = 10
IntArray = npt.NDArray[np.int64]


def _rows_cols(p: OpPlacement) -> tuple[IntArray, IntArray]:
    return np.arange(p.r0, p.r1 + 1, p.rs), np.arange(p.c0, p.c1 + 1, p.cs)


def _holds(p: OpPlacement, core: Core) -> bool:
    r, c = core
    return (p.r0 <= r <= p.r1 and p.c0 <= c <= p.c1 and (r - p.r0) % p.rs == 0
            and (c - p.c0) % p.cs == 0)


def _check_structure(problem: MappingProblem, s: Schedule) -> list[str]:
    """Problems that make the other checks meaningless (missing ops, off-mesh rectangles)."""
    ids = sorted(p.op for p in s.ops)
    if ids != list(range(len(problem.ops))):
        return [f"placements cover ops {ids[:8]}..., expected each of {len(problem.ops)} once"]
    m = problem.machine
    return [f"op {problem.ops[p.op].name}: rectangle {p.rect} step {p.steps} is not inside "
            "the mesh" for p in s.ops
            if not (0 <= p.r0 <= p.r1 < m.rows and 0 <= p.c0 <= p.c1 < m.cols
                    and p.rs >= 1 and p.cs >= 1)]


def _check_placements(problem: MappingProblem, s: Schedule) -> list[str]:
    """Each op's rectangle lies in its region on cores able to run it, and the op lasts at
    least max(waves * slowest tile, HBM bytes / bandwidth)."""
    m = problem.machine
    kinds = sorted({k for row in m.core_types for k in row})
    kind_at = np.array([[kinds.index(k) for k in row] for row in m.core_types])
    in_region = {}
    for name, cores in problem.regions.items():
        mask = np.zeros((m.rows, m.cols), dtype=bool)
        mask[tuple(np.array(cores).T)] = True
        in_region[name] = mask
    bw = sum(port.bytes_per_cycle for port in m.hbm_ports)
    out: list[str] = []
    for p in s.ops:
        op = problem.ops[p.op]
        grid = np.ix_(*_rows_cols(p))
        cycles = np.array([op.tile_cycles.get(k, 0) for k in kinds])[kind_at[grid]]
        bad = np.argwhere(~in_region[op.region][grid] | (cycles == 0))
        if len(bad):
            r, c = p.r0 + bad[0][0] * p.rs, p.c0 + bad[0][1] * p.cs
            out.append(f"op {op.name}: core ({r}, {c}) is not a core of region "
                       f"{op.region!r} able to run it")
            continue
        compute = math.ceil(op.n_tiles / cycles.size) * int(cycles.max())
        need = max(compute, math.ceil(op.hbm_bytes / bw) if op.hbm_bytes else 0)
        if p.end - p.start < need or p.start < 0:
            out.append(f"op {op.name}: runs {p.end - p.start} cycles from {p.start}, "
                       f"needs {need}")
    return out


def _held(problem: MappingProblem, s: Schedule) -> IntArray:
    """One row (core id, start, end, op, runs a tile) per core of every op's rectangle;
    core id = row * cols + col, cores of a rectangle in row-major order."""
    cols = problem.machine.cols
    parts = []
    for p in s.ops:
        rr, cc = _rows_cols(p)
        core = (rr[:, None] * cols + cc[None, :]).ravel()
        block = np.empty((core.size, 5), dtype=np.int64)
        block[:, 0] = core
        block[:, 1:4] = (p.start, p.end, p.op)
        block[:, 4] = np.arange(core.size) < problem.ops[p.op].n_tiles
        parts.append(block)
    return np.concatenate(parts) if parts else np.zeros((0, 5), dtype=np.int64)


def _check_cores(problem: MappingProblem, held: IntArray) -> list[str]:
    """Sorted by (core, start, end): an overlap on a core shows between two neighbours."""
    cols = problem.machine.cols
    core, start, end, op = held[:, 0], held[:, 1], held[:, 2], held[:, 3]
    order = np.lexsort((end, start, core))
    c, s_, e = core[order], start[order], end[order]
    hit = np.flatnonzero((c[1:] == c[:-1]) & (s_[1:] < e[:-1]))[:MAX_PER_CHECK]
    return [f"core ({c[i] // cols}, {c[i] % cols}) is held by ops "
            f"{problem.ops[op[order[i]]].name} and {problem.ops[op[order[i + 1]]].name} at once"
            for i in hit]


def _check_sram(problem: MappingProblem, held: IntArray) -> list[str]:
    """A sweep over every core at once: a core running a tile of an op holds the op's tile
    working set over the op's span (one tile at a time: the duration rule)."""
    m = problem.machine
    runs = held[held[:, 4] == 1]
    if not len(runs):
        return []
    ws = np.array([op.sram_bytes_per_tile for op in problem.ops], dtype=np.int64)[runs[:, 3]]
    core = np.concatenate([runs[:, 0], runs[:, 0]])
    time = np.concatenate([runs[:, 1], runs[:, 2]])
    delta = np.concatenate([ws, -ws])
    order = np.lexsort((delta, time, core))  # per core in time; at equal times releases first
    use = np.cumsum(delta[order])  # each core's events sum to 0: this is per-core use
    cap_of = np.array([m.sram_bytes[k] for row in m.core_types for k in row], dtype=np.int64)
    cores, times = core[order], time[order]
    return [f"core ({cores[i] // m.cols}, {cores[i] % m.cols}) holds {int(use[i]):,} B of tile "
            f"working sets at cycle {int(times[i])}, its SRAM is {int(cap_of[cores[i]]):,} B"
            for i in np.flatnonzero(use > cap_of[cores])[:MAX_PER_CHECK]]


def _check_dependencies(problem: MappingProblem, s: Schedule) -> list[str]:
    m = problem.machine
    place = {p.op: p for p in s.ops}
    pending: dict[tuple[int, int, int], list[Transfer]] = {}
    for tr in s.transfers:
        pending.setdefault((tr.src, tr.dst, tr.bytes), []).append(tr)
    out: list[str] = []
    for e in problem.edges:
        a, b = place[e.src], place[e.dst]
        name = f"{problem.ops[e.src].name} -> {problem.ops[e.dst].name}"
        trs = pending.get((e.src, e.dst, e.bytes))
        if not trs:
            out.append(f"dependency {name} ({e.bytes} B) has no transfer")
            continue
        tr = trs.pop(0)
        need = transfer_cycles(e.bytes, a.rect, a.steps, b.rect, b.steps,
                               m.link_bytes_per_cycle, m.router_latency_cycles)
        if tr.start < a.end:
            out.append(f"transfer {name} leaves at {tr.start}, before its producer ends at "
                       f"{a.end}")
        if tr.end - tr.start < need:
            out.append(f"transfer {name} takes {tr.end - tr.start} cycles, needs {need}")
        if b.start < tr.end:
            out.append(f"op {problem.ops[e.dst].name} starts at {b.start}, before its input "
                       f"from {problem.ops[e.src].name} arrives at {tr.end}")
        if not (_holds(a, tr.src_core) and _holds(b, tr.dst_core)):
            out.append(f"transfer {name} has endpoints outside the two ops' rectangles")
    out += [f"transfer op {tr.src} -> op {tr.dst} ({tr.bytes} B) belongs to no dependency"
            for key in sorted(pending) for tr in pending[key]]
    return out[: MAX_PER_CHECK * 3]


def _check_hbm(problem: MappingProblem, s: Schedule) -> list[str]:
    m = problem.machine
    bw = sum(port.bytes_per_cycle for port in m.hbm_ports)
    spans = [(p.start, p.end, problem.ops[p.op].hbm_bytes / max(1, p.end - p.start))
             for p in s.ops if problem.ops[p.op].hbm_bytes]
    if not spans:
        return []
    times = np.array([x for a, b, _ in spans for x in (a, b)])
    rates = np.array([x for _, _, r in spans for x in (r, -r)])
    order = np.lexsort((rates, times))
    use = np.cumsum(rates[order])
    over = np.flatnonzero(use > bw * (1 + 1e-9) + 1e-9)
    return [f"HBM carries {use[i]:.2f} B/cycle at cycle {int(times[order][i])}, its bandwidth "
            f"is {bw:.2f} B/cycle" for i in over[:MAX_PER_CHECK]]


def validate(problem: MappingProblem, schedule: Schedule) -> list[str]:
    """All violations of `schedule` against `problem` (empty list: valid)."""
    errors = _check_structure(problem, schedule)
    if errors:
        return errors
    held = _held(problem, schedule)
    errors = _check_placements(problem, schedule)
    errors += _check_cores(problem, held)
    errors += _check_dependencies(problem, schedule)
    errors += _check_sram(problem, held)
    errors += _check_hbm(problem, schedule)
    makespan = max((p.end for p in schedule.ops), default=0)
    if schedule.makespan != makespan:
        errors.append(f"makespan is {schedule.makespan}, the last op ends at {makespan}")
    return errors
