"""Independent checker of a schedule against its problem.

It shares no code with the schedulers: durations and resource usage are recomputed here
from the rules written in docs/mapper.md; the transfer delay is the hardware layer's
(meshc.hardware.transfers), the one rule the schedulers and the simulator also ask. It checks that

* every op has one placement on a rectangle of usable cores of its region, lasting at least
  its duration, with exactly its tiles, each inside the op's rectangle and time span;
* no core runs two tiles at once, and no two ops holding a common core overlap in time;
* every dependency has its transfer, leaving after the producer ends, lasting at least the
  transfer delay, and arriving before the consumer starts;
* the SRAM working sets on every core stay within that core's SRAM at every instant;
* the HBM rates (bytes / duration of each running op) never sum above the HBM bandwidth.

`validate` returns human-readable violations (empty when the schedule is valid).
"""

from __future__ import annotations

import math

import numpy as np

from meshc.hardware.transfers import transfer_cycles
from meshc.mappers.problem import MappingProblem
from meshc.mappers.schedule import OpPlacement, Schedule

MAX_PER_CHECK = 10
CHUNK = 1 << 21  # tiles checked at once


def _rect_cores(p: OpPlacement) -> list[tuple[int, int]]:
    return [(r, c) for r in range(p.r0, p.r1 + 1, p.rs) for c in range(p.c0, p.c1 + 1, p.cs)]


def _required_cycles(problem: MappingProblem, p: OpPlacement) -> int:
    op, m = problem.ops[p.op], problem.machine
    cores = _rect_cores(p)
    waves = math.ceil(op.n_tiles / len(cores))
    compute = waves * max(op.tile_cycles[m.core_types[r][c]] for r, c in cores)
    bw = sum(port.bytes_per_cycle for port in m.hbm_ports)
    stream = math.ceil(op.hbm_bytes / bw) if op.hbm_bytes else 0
    return max(compute, stream)


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
    out: list[str] = []
    m = problem.machine
    for p in s.ops:
        op = problem.ops[p.op]
        region = set(problem.regions[op.region])
        for r, c in _rect_cores(p):
            kind = m.core_types[r][c]
            if (r, c) not in region or kind not in op.tile_cycles:
                out.append(f"op {op.name}: core ({r}, {c}) is not a core of region "
                           f"{op.region!r} able to run it")
                break
        else:
            need = _required_cycles(problem, p)
            if p.end - p.start < need or p.start < 0:
                out.append(f"op {op.name}: runs {p.end - p.start} cycles from {p.start}, "
                           f"needs {need}")
    return out


def _check_tiles(problem: MappingProblem, s: Schedule) -> list[str]:
    t, m = s.tiles, problem.machine
    n = len(problem.ops)
    counts = np.bincount(t.op, minlength=n) if len(t) else np.zeros(n, dtype=np.int64)
    out = [f"op {problem.ops[i].name}: {counts[i]} tiles scheduled, it has "
           f"{problem.ops[i].n_tiles}" for i in range(n) if counts[i] != problem.ops[i].n_tiles]
    if out or not len(t):
        return out
    place = sorted(s.ops, key=lambda p: p.op)
    fields = np.array([[getattr(p, f) for f in ("r0", "c0", "r1", "c1", "rs", "cs", "start",
                                                "end")] for p in place], dtype=np.int64)
    kinds = sorted({k for row in m.core_types for k in row})
    kind_at = np.array([[kinds.index(k) for k in row] for row in m.core_types])
    table = np.array([[op.tile_cycles.get(k, 0) for k in kinds] for op in problem.ops])
    for lo in range(0, len(t), CHUNK):  # chunks bound the memory of million-tile schedules
        sl = slice(lo, lo + CHUNK)
        op, row, col, start, end = t.op[sl], t.row[sl], t.col[sl], t.start[sl], t.end[sl]
        r0, c0, r1, c1, rs, cs, st, en = fields[op].T
        need = table[op, kind_at[row.clip(0, m.rows - 1), col.clip(0, m.cols - 1)]]
        bad = ((row < r0) | (row > r1) | (col < c0) | (col > c1) | ((row - r0) % rs != 0)
               | ((col - c0) % cs != 0) | (start < st) | (end > en) | (end - start < need)
               | (need == 0))
        for k in np.flatnonzero(bad)[:MAX_PER_CHECK - len(out)]:
            out.append(f"tile {lo + k} of op {problem.ops[op[k]].name} on core ({row[k]}, "
                       f"{col[k]}) [{start[k]}, {end[k]}) leaves its op's rectangle or span "
                       f"or is shorter than {need[k]} cycles")
        if len(out) >= MAX_PER_CHECK:
            break
    return out


def _by_core(problem: MappingProblem, s: Schedule) -> list[np.ndarray]:
    """Tile indices grouped by core (one array per core that runs tiles), in tile order."""
    t = s.tiles
    core = t.row * problem.machine.cols + t.col
    order = np.argsort(core, kind="stable")
    bounds = np.flatnonzero(np.diff(core[order])) + 1
    return np.split(order, bounds)


def _overlaps(
    core: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Indices i (in sorted order) where interval i+1 starts before interval i ends."""
    order = np.lexsort((end, start, core))
    c, s_, e = core[order], start[order], end[order]
    hit = np.flatnonzero((c[1:] == c[:-1]) & (s_[1:] < e[:-1]))
    return order[hit], order[hit + 1]


def _check_cores(problem: MappingProblem, s: Schedule) -> list[str]:
    m, t = problem.machine, s.tiles
    out = []
    for idx in _by_core(problem, s) if len(t) else []:
        start, end = t.start[idx], t.end[idx]
        a, b = _overlaps(np.zeros(len(idx), dtype=np.int64), start, end)
        for i, j in list(zip(idx[a], idx[b], strict=True))[:MAX_PER_CHECK - len(out)]:
            out.append(f"core ({t.row[i]}, {t.col[i]}) runs a tile of op "
                       f"{problem.ops[t.op[i]].name} [{t.start[i]}, {t.end[i]}) and one of op "
                       f"{problem.ops[t.op[j]].name} [{t.start[j]}, {t.end[j]}) at once")
    rows = [(r * m.cols + c, p.start, p.end, p.op) for p in s.ops for r, c in _rect_cores(p)]
    if rows:
        arr = np.array(rows, dtype=np.int64)
        a, b = _overlaps(arr[:, 0], arr[:, 1], arr[:, 2])
        for i, j in list(zip(a, b, strict=True))[:MAX_PER_CHECK]:
            k = int(arr[i, 0])
            out.append(f"core ({k // m.cols}, {k % m.cols}) is held by ops "
                       f"{problem.ops[arr[i, 3]].name} and {problem.ops[arr[j, 3]].name} at once")
    return out


def _check_dependencies(problem: MappingProblem, s: Schedule) -> list[str]:
    m = problem.machine
    place = {p.op: p for p in s.ops}
    pending: dict[tuple[int, int, int], list] = {}
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
        if tr.src_core not in _rect_cores(a) or tr.dst_core not in _rect_cores(b):
            out.append(f"transfer {name} has endpoints outside the two ops' rectangles")
    return out[: MAX_PER_CHECK * 3]


def _check_sram(problem: MappingProblem, s: Schedule) -> list[str]:
    m, t = problem.machine, s.tiles
    if not len(t):
        return []
    ws_of = np.array([op.sram_bytes_per_tile for op in problem.ops], dtype=np.int64)
    out: list[str] = []
    for idx in _by_core(problem, s):  # one core at a time: a sweep over its tiles
        r, c = int(t.row[idx[0]]), int(t.col[idx[0]])
        cap = m.sram_bytes[m.core_types[r][c]]
        ws = ws_of[t.op[idx]]
        time = np.concatenate([t.start[idx], t.end[idx]])
        delta = np.concatenate([ws, -ws])
        order = np.lexsort((delta, time))  # at equal times, releases come first
        use = np.cumsum(delta[order])
        for i in np.flatnonzero(use > cap)[:MAX_PER_CHECK - len(out)]:
            out.append(f"core ({r}, {c}) holds {int(use[i]):,} B of tile working sets at "
                       f"cycle {int(time[order][i])}, its SRAM is {cap:,} B")
        if len(out) >= MAX_PER_CHECK:
            break
    return out


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
    errors = _check_placements(problem, schedule)
    errors += _check_tiles(problem, schedule)
    errors += _check_cores(problem, schedule)
    errors += _check_dependencies(problem, schedule)
    errors += _check_sram(problem, schedule)
    errors += _check_hbm(problem, schedule)
    makespan = max((p.end for p in schedule.ops), default=0)
    if schedule.makespan != makespan:
        errors.append(f"makespan is {schedule.makespan}, the last op ends at {makespan}")
    return errors
