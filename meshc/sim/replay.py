"""Event-driven replay of a mapped schedule with contention, and the energy ledger.

The mapper decides where each op runs and in which order; the simulator keeps that
placement and per-core order and recomputes the times with what the mapper abstracts:

* time: cycles of the NoC's clock; a tile's cycles on a core type are converted from that
  type's own clock (meshc.hardware.clocks), and seconds are NoC cycles / NoC clock;
* compute: each core of an op's rectangle runs its share of the tiles (round-robin:
  meshc.hardware.spread) back to back, at the per-core cost model's cycles per tile;
* off chip: every attach core of a stack is a port (meshc.hardware.ports); off-chip bytes
  interleave over every port in proportion to its bandwidth; each port is a FIFO
  (sim/offchip.py). An op streams its weights and KV cache while it computes (from its
  start), as the mapper assumes; so are the phase's inputs it reads and the phase outputs
  it writes; it ends when its compute and its streams are done;
* memory: every value has a home (sim/memory.py): resident weights on their cores, an op's
  output in its producers' SRAM until its last consumer ends, a phase input that several
  ops read on the cores of the first one replayed (it reads it off chip, the others get it
  over the NoC like an output); when a core is full, values go off chip and their consumers
  read them back from there (timed and charged); on a cold run the resident weights start
  off chip and are loaded once, before the first op that reads them (sim/offchip.py);
* NoC: a dependency's bytes travel as up to `transfers.MAX_FLOWS` parallel XY-routed flows between
  the two rectangles; each link serves flows in time order at its bandwidth (a flow books
  its serialisation time on every link of its path, in that link's idle time from the
  producer's end on, booked when the consumer is placed), plus the router latency per hop;
* energy: each op's levels by hardware/tile_energy.py, the rule `meshc hw cost` uses (MACs,
  per-PE registers, SRAM with each fold's re-reads, HBM reads and writes), its vector and
  transcendental ops, NoC byte-hops (HBM bytes included, from each port to the op's
  nearest core), and static power of every core over the phase's latency.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from meshc.hardware import Hardware
from meshc.hardware.clocks import tile_noc_cycles
from meshc.hardware.cost import gemm_sram_traffic, static_energy_pj
from meshc.hardware.model import CoreType
from meshc.hardware.spread import tiles_per_core
from meshc.hardware.tile_energy import components, gemm_energy_by_level, stream_energy_by_level
from meshc.result import HbmRecord, OpRecord, TransferRecord
from meshc.sim.memory import Memory, Value, resident_bytes
from meshc.sim.model import SimEdge, SimOp
from meshc.sim.noc import transfer
from meshc.sim.offchip import ColdLoads, Ports
from meshc.sim.timeline import Timeline

__all__ = ["SimResult", "simulate"]

MOVED = ("spill_write_bytes", "spill_read_bytes", "input_read_bytes", "output_write_bytes",
         "cold_load_bytes")

Core = tuple[int, int]


@dataclass(frozen=True)
class SimResult:
    latency_s: float
    ops: tuple[OpRecord, ...]
    transfers: tuple[TransferRecord, ...]
    hbm: tuple[HbmRecord, ...]
    energy_breakdown_pj: dict[str, float]
    energy_by_op_class_pj: dict[str, float]
    core_busy_s: dict[str, float]
    sram_peak_bytes: dict[str, int]


def _order(ops: Sequence[SimOp], edges: Sequence[SimEdge]) -> list[int]:
    """Topological order, earliest planned start first: the mapper's order where it can."""
    indeg = [0] * len(ops)
    succ: list[list[int]] = [[] for _ in ops]
    for e in edges:
        indeg[e.dst] += 1
        succ[e.src].append(e.dst)
    ready = [(ops[i].planned_start_cycles, i) for i in range(len(ops)) if indeg[i] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, i = heapq.heappop(ready)
        out.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                heapq.heappush(ready, (ops[j].planned_start_cycles, j))
    return out


def simulate(ops: Sequence[SimOp], edges: Sequence[SimEdge], hw: Hardware,
             regions: Mapping[str, tuple[Core, ...]] | None = None,
             cold: bool = False) -> SimResult:
    """Replays the mapped ops; `regions` (region -> cores) homes resident weights over the
    region partition-attn-mlp sized them for, not only the rectangle of the op using them.
    `cold`: the resident weights start off chip (a single run, not steady-state serving)."""
    clock = hw.noc.clock_hz
    link_bw = hw.noc.link_bytes_per_cycle
    router = hw.noc.router_latency_cycles
    port = Ports(hw)
    mem = Memory(capacity={(r, c): hw.core_types[t].sram_bytes for r, c, t in hw.cores},
                 resident=resident_bytes(ops, regions),
                 planned_start=[float(op.planned_start_cycles) for op in ops],
                 offchip=bool(port.ports))
    loads = ColdLoads(port, ops, regions) if cold else None

    type_at = {(r, c): t for r, c, t in hw.cores}
    tile_cycles: dict[tuple[object, ...], int] = {}

    def tile_cycles_of(op: SimOp, t: str) -> int:
        """NoC cycles of one tile on a core of type t, priced once per kind of tile: the
        ops of repeated layers have the same tiles (the key is all tile_noc_cycles reads)."""
        key = (t, op.kind, op.precision, op.tile_shape, op.stationary_bits,
               tuple(sorted(op.tile_work.items())))
        if key not in tile_cycles:
            tile_cycles[key] = tile_noc_cycles(op, hw.core_types[t], hw)
        return tile_cycles[key]

    core_free: dict[Core, float] = defaultdict(float)
    core_busy: dict[Core, float] = defaultdict(float)
    links: dict[tuple[Core, Core], Timeline] = defaultdict(Timeline)
    in_edges: dict[int, list[int]] = defaultdict(list)
    succ: dict[int, set[int]] = defaultdict(set)
    for k, e in enumerate(edges):
        in_edges[e.dst].append(k)
        succ[e.src].add(e.dst)
    n_ops = len(ops)  # a phase input's value key is n_ops + its index (sim/memory.py)
    readers: dict[int, set[int]] = defaultdict(set)
    for i, op in enumerate(ops):
        for a, _ in op.args:
            readers[n_ops + a].add(i)
    readers = {v: r for v, r in readers.items() if len(r) > 1}  # inputs several ops read
    held: dict[int, int] = {}  # phase input key -> the op that read it off chip

    times: dict[int, tuple[float, float, float]] = {}  # op -> start, end, compute
    parts: dict[int, dict[str, float]] = {}
    moved: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MOVED, 0))
    spill_pj: dict[int, float] = defaultdict(float)
    copy_at: dict[int, float] = {}  # op -> when its output's off-chip copy is complete
    transfers: list[TransferRecord] = []

    def charge(i: int, read: int, write: int, noc_pj: float, spill: bool) -> None:
        """Off-chip bytes that are not the op's own streams: SRAM, HBM and NoC energy."""
        core = hw.core_types[hw.core_type_at(*ops[i].cores[0])]
        lv = components(stream_energy_by_level(0, 0, core, hw, offchip_read_bytes=read,
                                               offchip_write_bytes=write)) | {"noc": noc_pj}
        for key, v in lv.items():
            parts[i][key] = parts[i].get(key, 0.0) + float(v)
        if spill:
            spill_pj[i] += float(sum(lv.values()))

    def spill(v: int) -> float:
        """Sends value v off chip unless no consumer needs it any more; returns when its
        room is free. It streams out as its producer makes it (from the producer's start,
        in the ports' idle time: the schedule is known ahead, as a compiler issues the
        writes), and its copy is complete no earlier than the producer's end."""
        val = mem.values[v]
        if not val.consumers:
            return val.read_until  # read by consumers still running, then freed
        if v not in copy_at:
            done, pj = port.stream(ops[v], times[v][0], 0, val.bytes, "spill")
            copy_at[v] = max(done, val.since)
            moved[v]["spill_write_bytes"] += val.bytes
            charge(v, 0, val.bytes, pj, True)
        mem.spill(v, copy_at[v])
        return max(copy_at[v], val.read_until)

    def make_room(v: int, share: dict[Core, int], consumers: set[int], at: float
                  ) -> tuple[bool, float]:
        """Room at `at` for value `v` on its cores: later-used values leave (the op waits
        for their writes), or `v` itself does not stay. Returns (it stays, when)."""
        mem.announce(v, consumers)
        stays = True
        for c in mem.crowded(share.items(), at):
            b = share[c]
            for w in mem.victims(c, at, b if stays else 0, set(), (v, b) if stays else None):
                if w < 0:
                    stays = False
                else:
                    at = max(at, spill(w))
        if not stays:
            mem.discard(v)
        return stays, at

    for i in _order(ops, edges):
        op = ops[i]
        cores = op.cores
        parts[i] = {}
        # compute: round-robin tiles, each core back to back
        per_core = tiles_per_core(op.n_tiles, len(cores))
        used = [c for n, c in zip(per_core, cores, strict=True) if n]
        type_of = {c: type_at[c] for c in set(cores)}
        by_type = {t: tile_cycles_of(op, t) for t in set(type_of.values())}
        cyc = {c: by_type[t] for c, t in type_of.items()}
        compute = max(n * cyc[c] for n, c in zip(per_core, cores, strict=True))
        # room for the tiles' working set, then the inputs: over the NoC from their home,
        # or back from off chip when they were spilled
        t0 = max(core_free[c] for c in cores)
        if loads is not None and op.resident:  # its weights must be on chip first
            load = loads.load(i)
            t0 = max(t0, load.ready)
            if load.bytes:
                moved[i]["cold_load_bytes"] += load.bytes
                charge(i, load.bytes, 0, load.noc_pj, False)
        # a phase input several ops read: the first replayed reads it off chip and holds
        # it, the others take it from there (as a dependency's output)
        keys = [(n_ops + a, b) for a, b in op.args] if port.ports else []
        shared = [(v, b) for v, b in keys if v in readers]
        first = [(v, b) for v, b in shared if v not in held]
        held.update({v: i for v, _ in first})
        later = [(v, b) for v, b in shared if held[v] != i]
        inputs = {edges[k].src for k in in_edges[i]} | {v for v, _ in later}
        wait = t0
        for c in mem.crowded(((c, op.tile_work["sram_bytes"]) for c in used), t0):
            for v in mem.victims(c, t0, op.tile_work["sram_bytes"], inputs):
                wait = max(wait, spill(v))
        ready, reload, reload_from, noc_pj = wait, 0, 0.0, 0.0
        # without off-chip memory the phase's inputs are free (they are nowhere)
        io_r = sum(b for v, b in keys if v not in readers) + sum(b for _, b in first)
        deps = [(edges[k].src, edges[k].bytes) for k in in_edges[i]] + later
        for v, n_bytes in deps:
            copy = mem.is_spilled(v)
            if v >= n_ops and (copy is not None or v not in mem.values):
                io_r += n_bytes  # not held on chip: read from its home off chip again
                continue
            src = ops[mem.values[v].op] if v >= n_ops else ops[v]
            done = mem.values[v].since if v >= n_ops else times[v][1]
            if copy is None:
                done, pj, recs = transfer(src, op, n_bytes, done, links, link_bw, router,
                                          hw.noc.pj_per_byte_hop, clock)
                noc_pj += pj
                transfers.extend(recs)
            else:
                reload += n_bytes
                reload_from = max(reload_from, copy)
            ready = max(ready, done)
        start = ready
        end = start + compute
        # off chip: weights and KV streamed while computing, the phase's inputs read and
        # its outputs written, spilled inputs read back (once their copy is complete)
        io_w = op.out_bytes if op.is_output and port.ports else 0
        done, pj = port.stream(op, start, op.hbm_read_bytes + io_r, op.hbm_write_bytes + io_w)
        end, noc_pj = max(end, done), noc_pj + pj
        if io_w or op.offchip_copy:
            copy_at[i] = done  # spilling it later costs no write
        if reload:
            done, pj = port.stream(op, max(start, reload_from), reload, 0, "reload")
            end = max(end, done)
            charge(i, reload, 0, pj, True)
        for v in inputs:
            mem.read(v, i, start + compute)
        # room for the output on its producers: it stays, or others leave, or it streams out
        share = {c: op.out_bytes * k // op.n_tiles
                 for k, c in zip(per_core, cores, strict=True) if k}
        stays, end = make_room(i, share, succ[i], end)
        if stays:
            mem.home(i, share, end)
        elif i not in copy_at:
            copy_at[i], pj = port.stream(op, start, 0, op.out_bytes, "spill")
            end = max(end, copy_at[i])
            moved[i]["spill_write_bytes"] += op.out_bytes
            charge(i, 0, op.out_bytes, pj, True)
        if not stays and succ[i]:
            mem.values[i] = Value(op=i, share=share, since=end, consumers=set(succ[i]),
                                  spilled_at=copy_at[i])
        # the phase inputs it brought on chip stay on its cores for their other readers,
        # where they fit (they are off chip already: leaving costs no write)
        for v, b in first:
            arg_share = {c: b * k // op.n_tiles for k, c in zip(per_core, cores, strict=True) if k}
            copy_at[v] = 0.0
            stays, end = make_room(v, arg_share, readers[v] - {i}, end)
            if stays:
                mem.home(v, arg_share, end, holder=i)
        for k, c in zip(per_core, cores, strict=True):
            core_busy[c] += k * cyc[c]
            core_free[c] = end
        mem.working_set(used, start, end, op.tile_work["sram_bytes"])
        times[i] = (start, end, compute)
        moved[i]["spill_read_bytes"] += reload
        moved[i]["input_read_bytes"] += io_r
        moved[i]["output_write_bytes"] += io_w
        core0 = hw.core_types[hw.core_type_at(*cores[0])]
        energy = _op_energy(op, core0, hw, io_r, io_w)
        energy["noc"] = noc_pj
        for key, amount in energy.items():
            parts[i][key] = parts[i].get(key, 0.0) + amount

    span_end = max((t[1] for t in times.values()), default=0.0)
    latency = span_end / clock
    ledger = dict.fromkeys(("mac", "reg", "vector", "transcendental", "sram", "noc", "hbm"), 0.0)
    by_class: dict[str, float] = defaultdict(float)
    for i, p in parts.items():
        for key, amount in p.items():
            ledger[key] += amount
            by_class[ops[i].op_class] += amount
    ledger["static"] = float(static_energy_pj(latency, len(hw.cores), hw))
    peaks = mem.peaks()
    return SimResult(
        latency_s=latency,
        ops=tuple(_record(ops[i], times[i], parts[i], moved[i], spill_pj[i], hw)
                  for i in range(len(ops))),
        transfers=tuple(transfers),
        hbm=tuple(port.records),
        energy_breakdown_pj=dict(sorted(ledger.items())),
        energy_by_op_class_pj=dict(sorted(by_class.items())),
        core_busy_s={f"{r},{c}": core_busy[(r, c)] / clock for r, c, _ in hw.cores},
        sram_peak_bytes={f"{r},{c}": peaks[(r, c)] for r, c, _ in hw.cores},
    )


def _record(op: SimOp, times: tuple[float, float, float], parts: dict[str, float],
            moved: dict[str, int], spill_pj: float, hw: Hardware) -> OpRecord:
    clock = hw.noc.clock_hz
    start, end, compute = times
    core0 = hw.core_types[hw.core_type_at(*op.cores[0])]
    return OpRecord(
        name=op.name, op_class=op.op_class, kind=op.kind, layer=op.layer, block=op.block,
        region=op.region, precision=op.precision, n_tiles=op.n_tiles,
        tile_shape=op.tile_shape, macs=_real_macs(op), padded_macs=op.padded_macs,
        vector_ops=op.total("vector_ops"), transcendental_ops=op.total("transcendental_ops"),
        sram_bytes=_sram_bytes(op, core0) + sum(moved.values()),
        hbm_read_bytes=op.hbm_read_bytes, hbm_write_bytes=op.hbm_write_bytes, rect=op.rect,
        step=op.step, planned_start_s=op.planned_start_cycles / clock,
        planned_end_s=op.planned_end_cycles / clock, start_s=start / clock,
        end_s=end / clock, compute_s=compute / clock,
        energy_pj={k: round(v, 6) for k, v in sorted(parts.items())},
        **moved, spill_energy_pj=round(spill_pj, 6))


def _sram_bytes(op: SimOp, core: CoreType) -> int:
    """SRAM bytes read and written by the op's tiles and its off-chip traffic, as charged:
    gemm tiles by their folds' re-reads (cost.gemm_sram_traffic), other tiles read
    their inputs and weights once and write their output once; off-chip bytes pass SRAM."""
    if op.kind == "gemm" and core.can_gemm:
        m, n, k = op.tile_shape
        r, w = gemm_sram_traffic(m, k, n, core, op.precision)
        tiles = float(r + w) * op.n_tiles
    else:
        w_ = op.tile_work
        tiles = float((w_["in_bytes"] + w_["weight_bytes"] + w_["out_bytes"]) * op.n_tiles)
    return round(tiles) + op.hbm_read_bytes + op.hbm_write_bytes


def _real_macs(op: SimOp) -> int:
    """The op's MACs without the padding of ragged edge tiles: padding costs array time
    (in the tile's cycles) but its zero operands are taken as gated, costing no MAC energy."""
    return op.total("macs") - op.padded_macs


def _op_energy(op: SimOp, core: CoreType, hw: Hardware, io_read: int = 0,
               io_write: int = 0) -> dict[str, float]:
    """The op's energy by component: tile_energy's levels (mac, reg, sram, hbm; MACs without
    padding, at the precision the core executes) on the core type of its first core, with
    the phase inputs it reads and the phase output it writes off chip, plus its vector and
    transcendental ops."""
    off_r, off_w = op.hbm_read_bytes + io_read, op.hbm_write_bytes + io_write
    if op.kind == "gemm" and core.can_gemm:
        m, n, k = op.tile_shape
        levels = gemm_energy_by_level(m, k, n, core, op.precision, hw, tiles=op.n_tiles,
                                      macs=_real_macs(op), offchip_read_bytes=off_r,
                                      offchip_write_bytes=off_w)
    else:
        w = op.tile_work
        levels = stream_energy_by_level((w["in_bytes"] + w["weight_bytes"]) * op.n_tiles,
                                        w["out_bytes"] * op.n_tiles, core, hw,
                                        offchip_read_bytes=off_r,
                                        offchip_write_bytes=off_w)
    e = hw.energy
    return {k: float(v) for k, v in components(levels).items()} | {
        "vector": op.total("vector_ops") * e.vector_pj_per_op,
        "transcendental": op.total("transcendental_ops") * e.transcendental_pj_per_op,
    }
