"""Event-driven replay of a mapped schedule with contention, and the energy ledger.

The mapper decides where each op runs and in which order; the simulator keeps that
placement and per-core order and recomputes the times with what the mapper abstracts:

* time: cycles of the NoC's clock; a tile's cycles on a core type are converted from that
  type's own clock (meshc.hardware.clocks), and seconds are NoC cycles / NoC clock;
* compute: each core of an op's rectangle runs its share of the tiles (round-robin:
  meshc.hardware.spread) back to back, at the per-core cost model's cycles per tile;
* HBM: every attach core of a stack is a port (meshc.hardware.ports); an op's HBM bytes
  are interleaved over every port in proportion to its bandwidth; each port is a FIFO.
  An op streams its weights and KV cache while it computes (from its start), as the
  mapper assumes; it ends when both its compute and its stream are done;
* NoC: a dependency's bytes travel as up to `MAX_FLOWS` parallel XY-routed flows between
  the two rectangles; each link serves flows in time order at its bandwidth (a flow books
  its serialisation time on every link of its path, in that link's idle time from the
  producer's end on), plus the router latency per hop;
* energy: each op's levels by hardware/tile_energy.py, the rule `meshc hw cost` uses (MACs,
  per-PE registers, SRAM with each fold's re-reads, HBM reads and writes), its vector and
  transcendental ops, NoC byte-hops (HBM bytes included, from each port to the op's
  nearest core), and static power of every core over the phase's latency.
"""

from __future__ import annotations

import bisect
import heapq
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from meshc.hardware import Hardware
from meshc.hardware.clocks import tile_noc_cycles
from meshc.hardware.cost import gemm_sram_traffic, static_energy_pj
from meshc.hardware.model import CoreType
from meshc.hardware.ports import hbm_ports, hops, nearest_core
from meshc.hardware.spread import tiles_per_core
from meshc.hardware.tile_energy import components, gemm_energy_by_level, stream_energy_by_level
from meshc.result import HbmRecord, OpRecord, TransferRecord
from meshc.sim.model import SimEdge, SimOp

MAX_FLOWS = 8

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


class Timeline:
    """The busy intervals of one HBM port or NoC link; a booking fills idle time from its
    start on, so requests are served in time order whatever order they are replayed in."""

    def __init__(self) -> None:
        self.busy: list[tuple[float, float]] = []  # sorted, disjoint

    def reserve(self, start: float, duration: float) -> tuple[float, float]:
        """Books `duration` of port time from `start` on; returns (first, last) instants."""
        if duration <= 0:
            return start, start
        i = bisect.bisect_left(self.busy, (start, start))
        if i and self.busy[i - 1][1] > start:
            i -= 1
        lo = max(i - 1, 0)  # the pieces may touch the interval before the first one passed
        t, left, first = start, duration, None
        pieces: list[tuple[float, float]] = []
        while left > 0:
            nxt = self.busy[i][0] if i < len(self.busy) else float("inf")
            if i < len(self.busy) and self.busy[i][0] <= t:
                t = max(t, self.busy[i][1])
                i += 1
                continue
            take = min(left, nxt - t)
            if take > 0:
                pieces.append((t, t + take))
                first = t if first is None else first
                left -= take
                t += take
        hi = min(i + 1, len(self.busy))  # ... and the one after the last
        self.busy[lo:hi] = _merged(sorted(self.busy[lo:hi] + pieces))
        return (first if first is not None else start), t


def _merged(busy: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted intervals with the overlapping and touching ones joined."""
    out: list[tuple[float, float]] = []
    for a, b in busy:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def xy_route(src: Core, dst: Core) -> list[tuple[Core, Core]]:
    """Links crossed from src to dst: along the row first (X), then the column (Y)."""
    links = []
    r, c = src
    while c != dst[1]:
        nc = c + (1 if dst[1] > c else -1)
        links.append(((r, c), (r, nc)))
        c = nc
    while r != dst[0]:
        nr = r + (1 if dst[0] > r else -1)
        links.append(((r, c), (nr, c)))
        r = nr
    return links


def _spread(cores: Sequence[Core], k: int) -> list[Core]:
    """k cores evenly spaced over a row-major core list."""
    return [cores[(i * len(cores)) // k] for i in range(k)]


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


def simulate(ops: Sequence[SimOp], edges: Sequence[SimEdge], hw: Hardware) -> SimResult:
    clock = hw.noc.clock_hz
    link_bw = hw.noc.link_bytes_per_cycle
    router = hw.noc.router_latency_cycles
    ports = [(p.core, p.bytes_per_s / clock) for p in hbm_ports(hw)]  # bytes/cycle
    total_bw = sum(bw for _, bw in ports)

    core_free: dict[Core, float] = defaultdict(float)
    core_busy: dict[Core, float] = defaultdict(float)
    sram_peak: dict[Core, int] = defaultdict(int)
    links: dict[tuple[Core, Core], Timeline] = defaultdict(Timeline)
    port_time = [Timeline() for _ in ports]
    arrival: dict[int, float] = {}  # edge index -> data arrival (cycles)
    in_edges: dict[int, list[int]] = defaultdict(list)
    out_edges: dict[int, list[int]] = defaultdict(list)
    for k, e in enumerate(edges):
        in_edges[e.dst].append(k)
        out_edges[e.src].append(k)

    records: dict[int, OpRecord] = {}
    transfers: list[TransferRecord] = []
    hbm_records: list[HbmRecord] = []
    ledger = dict.fromkeys(("mac", "reg", "vector", "transcendental", "sram", "noc", "hbm"), 0.0)
    by_class: dict[str, float] = defaultdict(float)
    span_end = 0.0

    for i in _order(ops, edges):
        op = ops[i]
        cores = op.cores
        ready = max((arrival[k] for k in in_edges[i]), default=0.0)
        start = max([ready] + [core_free[c] for c in cores])
        # compute: round-robin tiles, each core back to back
        per_core = tiles_per_core(op.n_tiles, len(cores))
        type_of = {c: hw.core_type_at(*c) for c in set(cores)}
        by_type = {t: tile_noc_cycles(op, hw.core_types[t], hw) for t in set(type_of.values())}
        cyc = {c: by_type[t] for c, t in type_of.items()}
        compute = max(n * cyc[c] for n, c in zip(per_core, cores, strict=True))
        end = start + compute
        noc_pj = 0.0
        # HBM: interleaved over all ports, streamed from the op's start; each port's share
        # enters the rectangle at its core nearest to the port
        hbm_bytes = op.hbm_read_bytes + op.hbm_write_bytes
        if hbm_bytes and ports:
            for p, (port, bw) in enumerate(ports):
                share = hbm_bytes * bw / total_bw  # addresses interleave by bandwidth
                s, done = port_time[p].reserve(start, share / bw)
                end = max(end, done)
                noc_pj += (share * hops(port, nearest_core(op.rect, op.step, port))
                           * hw.noc.pj_per_byte_hop)
                hbm_records.append(HbmRecord(
                    op=op.name, port=port,
                    read_bytes=round(op.hbm_read_bytes * bw / total_bw),
                    write_bytes=round(op.hbm_write_bytes * bw / total_bw),
                    start_s=s / clock, end_s=done / clock))
        for n, c in zip(per_core, cores, strict=True):
            core_busy[c] += n * cyc[c]
            core_free[c] = end
            sram_peak[c] = max(sram_peak[c], op.tile_work["sram_bytes"] if n else 0)
        span_end = max(span_end, end)
        # outgoing data: flows from this rectangle to each consumer's rectangle
        for k in out_edges[i]:
            e = edges[k]
            dst = ops[e.dst]
            arrival[k], pj, recs = _transfer(op, dst, e.bytes, end, links, link_bw, router,
                                             hw.noc.pj_per_byte_hop, clock)
            noc_pj += pj
            transfers.extend(recs)
        core0 = hw.core_types[hw.core_type_at(*cores[0])]
        parts = _op_energy(op, core0, hw)
        parts["noc"] = noc_pj
        for key, v in parts.items():
            ledger[key] += v
            by_class[op.op_class] += v
        records[i] = OpRecord(
            name=op.name, op_class=op.op_class, kind=op.kind, layer=op.layer, block=op.block,
            region=op.region, precision=op.precision, n_tiles=op.n_tiles,
            tile_shape=op.tile_shape, macs=_real_macs(op), padded_macs=op.padded_macs,
            vector_ops=op.total("vector_ops"), transcendental_ops=op.total("transcendental_ops"),
            sram_bytes=_sram_bytes(op, core0), hbm_read_bytes=op.hbm_read_bytes,
            hbm_write_bytes=op.hbm_write_bytes, rect=op.rect, step=op.step,
            planned_start_s=op.planned_start_cycles / clock,
            planned_end_s=op.planned_end_cycles / clock, start_s=start / clock,
            end_s=end / clock, compute_s=compute / clock,
            energy_pj={k: round(v, 6) for k, v in sorted(parts.items())})

    latency = span_end / clock
    ledger["static"] = float(static_energy_pj(latency, len(hw.cores), hw))
    return SimResult(
        latency_s=latency,
        ops=tuple(records[i] for i in range(len(ops))),
        transfers=tuple(transfers),
        hbm=tuple(hbm_records),
        energy_breakdown_pj=dict(sorted(ledger.items())),
        energy_by_op_class_pj=dict(sorted(by_class.items())),
        core_busy_s={f"{r},{c}": core_busy[(r, c)] / clock for r, c, _ in hw.cores},
        sram_peak_bytes={f"{r},{c}": sram_peak[(r, c)] for r, c, _ in hw.cores},
    )


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


def _op_energy(op: SimOp, core: CoreType, hw: Hardware) -> dict[str, float]:
    """The op's energy by component: tile_energy's levels (mac, reg, sram, hbm; MACs without
    padding, at the precision the core executes) on the core type of its first core, plus
    its vector and transcendental ops."""
    if op.kind == "gemm" and core.can_gemm:
        m, n, k = op.tile_shape
        levels = gemm_energy_by_level(m, k, n, core, op.precision, hw, tiles=op.n_tiles,
                                      macs=_real_macs(op), offchip_read_bytes=op.hbm_read_bytes,
                                      offchip_write_bytes=op.hbm_write_bytes)
    else:
        w = op.tile_work
        levels = stream_energy_by_level((w["in_bytes"] + w["weight_bytes"]) * op.n_tiles,
                                        w["out_bytes"] * op.n_tiles, core, hw,
                                        offchip_read_bytes=op.hbm_read_bytes,
                                        offchip_write_bytes=op.hbm_write_bytes)
    e = hw.energy
    return {k: float(v) for k, v in components(levels).items()} | {
        "vector": op.total("vector_ops") * e.vector_pj_per_op,
        "transcendental": op.total("transcendental_ops") * e.transcendental_pj_per_op,
    }


def _transfer(src: SimOp, dst: SimOp, n_bytes: int, ready: float,
              links: dict[tuple[Core, Core], Timeline], link_bw: float, router: int,
              pj_per_byte_hop: float, clock: float) -> tuple[float, float, list[TransferRecord]]:
    """Moves n_bytes from src's rectangle to dst's; returns (arrival, energy, records)."""
    if n_bytes <= 0:
        return ready, 0.0, []
    k = min(len(src.cores), len(dst.cores), MAX_FLOWS)
    share = n_bytes / k
    arrival = ready
    pj = 0.0
    recs = []
    for a, b in zip(_spread(src.cores, k), _spread(dst.cores, k), strict=True):
        path = xy_route(a, b)
        if not path:
            continue  # same core: the data is already in its SRAM
        serial = share / link_bw
        # each link serves its flows in time order; a flow is through when its last link is
        booked = [links[link].reserve(ready, serial) for link in path]
        s = min(b[0] for b in booked)
        done = max(b[1] for b in booked) + router * len(path)
        arrival = max(arrival, done)
        pj += share * len(path) * pj_per_byte_hop
        recs.append(TransferRecord(src_op=src.name, dst_op=dst.name, src_core=a, dst_core=b,
                                   bytes=round(share), hops=len(path), start_s=s / clock,
                                   end_s=done / clock, links=tuple(path)))
    return arrival, pj, recs
