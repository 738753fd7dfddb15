"""The `trace` backend: trace.json in Chrome/Perfetto trace-event format.

Open it in https://ui.perfetto.dev (or chrome://tracing). One process per phase; in each,
tracks (threads) in this order: `ops` (every op once, with all its figures in `args`),
one per core, one per NoC link in use, one per HBM port. Ops, transfers and HBM accesses
are "X" (complete) events with `ts` and `dur` in microseconds of simulated time (whole
nanoseconds, Perfetto's resolution); "M"
metadata events name and order the processes and threads. Events on one track must not
overlap, so a track whose events do (ops on disjoint rectangles, two transfers sharing a
link) is split into lanes: "ops #2", "link 0,0>0,1 #2".

Ids are deterministic: pid = 1 + phase index; within a phase tids number the tracks in
the order above (cores row-major, links and ports sorted), lanes right after their track.
The file holds one event a line.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from meshc.backends.base import Artifacts, core_key, round_sig, rows_text
from meshc.hardware.spread import tiles_per_core
from meshc.result import SCHEMA_VERSION, CompileResult, OpRecord, PhaseResult

NS = 1e9  # times are rounded to whole nanoseconds: Perfetto's own resolution

Event = dict[str, Any]
OPS, CORE, LINK, PORT = range(4)  # track kinds, in display order


def _us(seconds: float) -> float:
    return round(seconds * NS) / 1000


def _span(start_s: float, end_s: float) -> tuple[float, float]:
    """ts and dur in µs, both whole nanoseconds, so that ts + dur is exact enough to
    compare with the next event's ts (see `_end_ns`)."""
    ts, te = round(start_s * NS), round(end_s * NS)
    return ts / 1000, max(0, te - ts) / 1000


def _end_ns(e: Event) -> int:
    return round(e["ts"] * 1000) + round(e["dur"] * 1000)


def _lanes(events: list[Event]) -> list[list[Event]]:
    """Splits one track's events into lanes of non-overlapping events (greedy, in start
    order): the first lane takes what fits, later lanes the rest."""
    lanes: list[list[Event]] = []
    ends: list[int] = []  # nanoseconds
    for e in sorted(events, key=lambda e: (e["ts"], e["dur"], e["name"])):
        start = round(e["ts"] * 1000)
        for i, end in enumerate(ends):
            if start >= end:
                lanes[i].append(e)
                ends[i] = _end_ns(e)
                break
        else:
            lanes.append([e])
            ends.append(_end_ns(e))
    return lanes


def _op_args(o: OpRecord) -> dict[str, Any]:
    return {"class": o.op_class, "kind": o.kind, "layer": o.layer, "block": o.block,
            "region": o.region, "precision": o.precision, "rect": list(o.rect), "step": list(o.step),
            "cores": len(o.cores), "tiles": o.n_tiles, "tile_shape": list(o.tile_shape),
            "macs": o.macs, "flops": o.flops,
            "hbm_bytes": o.hbm_read_bytes + o.hbm_write_bytes,
            "compute_us": _us(o.compute_s),
            "energy_pj": round_sig(float(sum(o.energy_pj.values()))),
            "planned_start_us": _us(o.planned_start_s), "planned_end_us": _us(o.planned_end_s)}


def _track_label(kind: int, key: Any) -> str:
    if kind == OPS:
        return "ops"
    if kind == CORE:
        return f"core {core_key(key)}"
    if kind == LINK:
        return f"link {core_key(key[0])}>{core_key(key[1])}"
    return f"hbm port {core_key(key)}"


def phase_events(p: PhaseResult, pid: int, mesh: tuple[int, int]) -> list[Event]:
    tracks: dict[tuple[int, Any], list[Event]] = defaultdict(list)
    rows, cols = mesh
    for r in range(rows):  # every core gets a track, busy or not
        for c in range(cols):
            tracks[(CORE, (r, c))] = []
    for o in p.ops:
        ts, dur = _span(o.start_s, o.end_s)
        tracks[(OPS, 0)].append({"name": o.name, "cat": o.block, "ph": "X", "ts": ts,
                                 "dur": dur, "args": _op_args(o)})
        for core, tiles in zip(o.cores, tiles_per_core(o.n_tiles, len(o.cores)), strict=True):
            tracks[(CORE, core)].append({
                "name": o.name, "cat": o.block, "ph": "X", "ts": ts, "dur": dur,
                "args": {"class": o.op_class, "layer": o.layer, "tiles": tiles}})
    for t in p.transfers:
        ts, dur = _span(t.start_s, t.end_s)
        dst = t.dst_op or "hbm"
        args = {"src_op": t.src_op, "dst_op": dst, "src_core": list(t.src_core),
                "dst_core": list(t.dst_core), "bytes": t.bytes, "hops": t.hops}
        for link in t.links:
            tracks[(LINK, link)].append({"name": f"{t.src_op} > {dst}", "cat": "noc",
                                         "ph": "X", "ts": ts, "dur": dur, "args": args})
    for h in p.hbm:
        ts, dur = _span(h.start_s, h.end_s)
        tracks[(PORT, h.port)].append({"name": h.op, "cat": "hbm", "ph": "X", "ts": ts,
                                       "dur": dur, "args": {"read_bytes": h.read_bytes,
                                                            "write_bytes": h.write_bytes}})
    meta: list[Event] = []
    body: list[Event] = []
    tid = 0
    for kind, key in sorted(tracks):
        label = _track_label(kind, key)
        for lane_no, lane in enumerate(_lanes(tracks[(kind, key)]) or [[]]):
            tid += 1
            name = label if lane_no == 0 else f"{label} #{lane_no + 1}"
            meta.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                         "args": {"name": name}})
            meta.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
                         "args": {"sort_index": tid}})
            for e in lane:
                e["pid"], e["tid"] = pid, tid
            body.extend(lane)
    return meta + body


def trace_json(result: CompileResult) -> dict[str, Any]:
    events: list[Event] = []
    for i, p in enumerate(result.phases):
        pid = i + 1
        events.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
                       "args": {"name": p.name}})
        events.append({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0,
                       "args": {"sort_index": pid}})
        events.extend(phase_events(p, pid, result.mesh))
    return {
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {"schema_version": SCHEMA_VERSION, "model": result.model,
                      "hardware": result.hardware, "mesh": list(result.mesh),
                      "time_unit": "microseconds of simulated time"},
    }


class TraceBackend:
    """trace.json: Perfetto tracks per op, core, NoC link and HBM port (ui.perfetto.dev)."""

    name = "trace"

    def emit(self, result: CompileResult) -> Artifacts:
        return {"trace.json": rows_text(trace_json(result))}
