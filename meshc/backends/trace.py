"""The `trace` backend: trace.json in Chrome/Perfetto trace-event format.

Open it in https://ui.perfetto.dev (or chrome://tracing). One process per phase; in each,
one track (thread) per core, per NoC link in use and per HBM port, in that order. Ops,
transfers and HBM accesses are "X" (complete) events with `ts` and `dur` in microseconds
of simulated time and their details in `args`; "M" metadata events name and order the
processes and threads. Events on one track must not overlap, so a track whose events do
(two transfers sharing a link, say) is split into lanes: "link 0,0>0,1 #2".

Ids are deterministic: pid = 1 + phase index; within a phase, tids number the tracks in
the order cores (row-major), links (sorted), HBM ports (sorted), lanes after their track.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from meshc.backends.base import Artifacts, core_key, json_text, op_energy_pj, tiles_per_core
from meshc.result import SCHEMA_VERSION, CompileResult, Core, PhaseResult

US = 1e6  # seconds -> microseconds
TS_DECIMALS = 6  # picosecond resolution


def _us(seconds: float) -> float:
    return round(seconds * US, TS_DECIMALS)


def _lanes(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Splits one track's events into lanes of non-overlapping events (greedy, in start
    order): the first lane takes what fits, later lanes the rest."""
    lanes: list[list[dict[str, Any]]] = []
    ends: list[float] = []
    for e in sorted(events, key=lambda e: (e["ts"], e["dur"], e["name"])):
        for i, end in enumerate(ends):
            if e["ts"] >= end:
                lanes[i].append(e)
                ends[i] = e["ts"] + e["dur"]
                break
        else:
            lanes.append([e])
            ends.append(e["ts"] + e["dur"])
    return lanes


def _link_name(link: tuple[Core, Core]) -> str:
    return f"link {core_key(link[0])}>{core_key(link[1])}"


def phase_events(p: PhaseResult, pid: int, mesh: tuple[int, int]) -> list[dict[str, Any]]:
    tracks: dict[tuple[int, Any], list[dict[str, Any]]] = defaultdict(list)
    for o in p.ops:
        ts, dur = _us(o.start_s), max(0.0, _us(o.end_s) - _us(o.start_s))
        per_core = tiles_per_core(o.n_tiles, len(o.cores))
        common = {"class": o.op_class, "kind": o.kind, "layer": o.layer, "block": o.block,
                  "region": o.region, "precision": o.precision, "rect": list(o.rect),
                  "op_tiles": o.n_tiles, "macs": o.macs,
                  "energy_pj": op_energy_pj(o.energy_pj),
                  "planned_start_us": _us(o.planned_start_s),
                  "planned_end_us": _us(o.planned_end_s)}
        for core, tiles in zip(o.cores, per_core, strict=True):
            tracks[(0, core)].append({"name": o.name, "cat": o.block, "ph": "X", "ts": ts,
                                      "dur": dur, "args": {**common, "tiles": tiles}})
    for t in p.transfers:
        ts, dur = _us(t.start_s), max(0.0, _us(t.end_s) - _us(t.start_s))
        args = {"src_op": t.src_op, "dst_op": t.dst_op or "hbm",
                "src_core": list(t.src_core), "dst_core": list(t.dst_core),
                "bytes": t.bytes, "hops": t.hops}
        name = f"{t.src_op} > {t.dst_op or 'hbm'}"
        for link in t.links:
            tracks[(1, link)].append({"name": name, "cat": "noc", "ph": "X", "ts": ts,
                                      "dur": dur, "args": args})
    for h in p.hbm:
        ts, dur = _us(h.start_s), max(0.0, _us(h.end_s) - _us(h.start_s))
        tracks[(2, h.port)].append({"name": h.op, "cat": "hbm", "ph": "X", "ts": ts,
                                    "dur": dur, "args": {"read_bytes": h.read_bytes,
                                                         "write_bytes": h.write_bytes}})
    # every core gets a track, busy or not, so the mesh reads the same in every phase
    rows, cols = mesh
    for r in range(rows):
        for c in range(cols):
            tracks.setdefault((0, (r, c)), [])

    meta: list[dict[str, Any]] = []
    body: list[dict[str, Any]] = []
    tid = 0
    for kind, key in sorted(tracks):
        label = (f"core {core_key(key)}" if kind == 0 else
                 _link_name(key) if kind == 1 else f"hbm port {core_key(key)}")
        for lane_no, lane in enumerate(_lanes(tracks[(kind, key)]) or [[]]):
            tid += 1
            name = label if lane_no == 0 else f"{label} #{lane_no + 1}"
            meta.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                         "args": {"name": name}})
            meta.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
                         "args": {"sort_index": tid}})
            body.extend({**e, "pid": pid, "tid": tid} for e in lane)
    return meta + body


def trace_json(result: CompileResult) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
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
    """trace.json: Perfetto tracks per core, NoC link and HBM port (ui.perfetto.dev)."""

    name = "trace"

    def emit(self, result: CompileResult) -> Artifacts:
        # compact: a large model has hundreds of thousands of events
        return {"trace.json": json_text(trace_json(result), indent=None, digits=15)}
