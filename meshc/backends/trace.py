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
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from meshc.backends.base import (
    Artifacts,
    EncodedRows,
    compact,
    core_key,
    gc_paused,
    round_sig,
    rows_text,
)
from meshc.hardware.spread import tiles_per_core
from meshc.result import SCHEMA_VERSION, CompileResult, OpRecord, PhaseResult

NS = 1e9  # times are rounded to whole nanoseconds: Perfetto's own resolution

Event = dict[str, Any]
# An "X" event before its track is known: ts and dur in ns (the sort key), its name, and its
# compact JSON cut where "pid" and "tid" go (keys are sorted: ... "ph", "pid", "tid", "ts").
# Events alike (an op on each of its cores, a transfer on each of its links) share one.
XEvent = tuple[int, int, str, str, str]
OPS, CORE, LINK, PORT = range(4)  # track kinds, in display order


def us(seconds: float) -> float:
    return round(seconds * NS) / 1000


def x_event(name: str, cat: str, start_s: float, end_s: float, args: Event) -> XEvent:
    """ts and dur are whole nanoseconds written in µs, so that ts + dur is exact enough to
    compare with the next event's ts."""
    ts, te = round(start_s * NS), round(end_s * NS)
    dur = max(0, te - ts)
    text = compact({"args": args, "cat": cat, "dur": dur / 1000, "name": name, "ph": "X",
                    "ts": ts / 1000})
    cut = text.rfind(',"ts":')  # ts is the last key and a number
    return (ts, dur, name, text[:cut], text[cut:])


def lanes(events: list[XEvent]) -> list[list[XEvent]]:
    """Splits one track's events into lanes of non-overlapping events (greedy, in (start,
    duration, name) order, stable): the first lane takes what fits, later lanes the rest."""
    lanes: list[list[XEvent]] = []
    ends: list[int] = []  # nanoseconds
    for e in sorted(events, key=itemgetter(0, 1, 2)):
        for i, end in enumerate(ends):
            if e[0] >= end:
                lanes[i].append(e)
                ends[i] = e[0] + e[1]
                break
        else:
            lanes.append([e])
            ends.append(e[0] + e[1])
    return lanes


def _op_args(o: OpRecord, cores: int) -> Event:
    return {"class": o.op_class, "kind": o.kind, "layer": o.layer, "block": o.block,
            "region": o.region, "precision": o.precision, "rect": list(o.rect), "step": list(o.step),
            "cores": cores, "tiles": o.n_tiles, "tile_shape": list(o.tile_shape),
            "macs": o.macs, "flops": o.flops,
            "hbm_bytes": o.hbm_read_bytes + o.hbm_write_bytes,
            "compute_us": us(o.compute_s),
            "energy_pj": round_sig(float(sum(o.energy_pj.values()))),
            "planned_start_us": us(o.planned_start_s), "planned_end_us": us(o.planned_end_s)}


def _track_label(kind: int, key: Any) -> str:
    if kind == OPS:
        return "ops"
    if kind == CORE:
        return f"core {core_key(key)}"
    if kind == LINK:
        return f"link {core_key(key[0])}>{core_key(key[1])}"
    return f"hbm port {core_key(key)}"


def phase_events(p: PhaseResult, pid: int, mesh: tuple[int, int]) -> list[str]:
    """The phase's events as compact JSON objects: metadata first, then every track's."""
    tracks: dict[tuple[int, Any], list[XEvent]] = defaultdict(list)
    rows, cols = mesh
    for r in range(rows):  # every core gets a track, busy or not
        for c in range(cols):
            tracks[(CORE, (r, c))] = []
    for o in p.ops:
        cores = o.cores
        tracks[(OPS, 0)].append(x_event(o.name, o.block, o.start_s, o.end_s,
                                         _op_args(o, len(cores))))
        alike: dict[int, XEvent] = {}  # by tiles per core: at most two kinds of core
        for core, tiles in zip(cores, tiles_per_core(o.n_tiles, len(cores)), strict=True):
            if tiles not in alike:
                alike[tiles] = x_event(o.name, o.block, o.start_s, o.end_s, {
                    "class": o.op_class, "layer": o.layer, "tiles": tiles})
            tracks[(CORE, core)].append(alike[tiles])
    for t in p.transfers:
        dst = t.dst_op or "hbm"
        e = x_event(f"{t.src_op} > {dst}", "noc", t.start_s, t.end_s, {
            "src_op": t.src_op, "dst_op": dst, "src_core": list(t.src_core),
            "dst_core": list(t.dst_core), "bytes": t.bytes, "hops": t.hops})
        for link in t.links:
            tracks[(LINK, link)].append(e)
    seen: dict[tuple[str, int, int, float, float], XEvent] = {}  # an op's ports often agree
    for h in p.hbm:
        key = (h.op, h.read_bytes, h.write_bytes, h.start_s, h.end_s)
        if key not in seen:
            seen[key] = x_event(h.op, "hbm", h.start_s, h.end_s, {
                "read_bytes": h.read_bytes, "write_bytes": h.write_bytes})
        tracks[(PORT, h.port)].append(seen[key])
    return track_events(((_track_label(kind, key), tracks[(kind, key)])
                         for kind, key in sorted(tracks)), pid)


def track_events(tracks: Iterable[tuple[str, list[XEvent]]], pid: int) -> list[str]:
    """The metadata and spans of named tracks in process `pid`, tracks in the order given;
    a track whose spans overlap gets more lanes ("name #2", ...)."""
    meta: list[str] = []
    body: list[str] = []
    tid = 0
    for label, track in tracks:
        for lane_no, lane in enumerate(lanes(track) or [[]]):
            tid += 1
            name = label if lane_no == 0 else f"{label} #{lane_no + 1}"
            meta.append(compact({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                                 "args": {"name": name}}))
            meta.append(compact({"name": "thread_sort_index", "ph": "M", "pid": pid,
                                 "tid": tid, "args": {"sort_index": tid}}))
            ids = f',"pid":{pid},"tid":{tid}'
            body.extend(f"{head}{ids}{tail}" for _, _, _, head, tail in lane)
    return meta + body


def process_events(pid: int, name: str) -> list[str]:
    """A process's name and its place in the list."""
    return [compact({"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
                     "args": {"name": name}}),
            compact({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0,
                     "args": {"sort_index": pid}})]


def trace_json(result: CompileResult) -> dict[str, Any]:
    events = EncodedRows()
    for i, p in enumerate(result.phases):
        pid = i + 1
        events.extend(process_events(pid, p.name))
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
        with gc_paused():
            return {"trace.json": rows_text(trace_json(result))}
