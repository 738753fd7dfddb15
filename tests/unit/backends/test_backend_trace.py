"""trace.json: Chrome/Perfetto trace events, one process per phase, a track per core, per
NoC link in use and per HBM port."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections import defaultdict

from meshc.backends.trace import TraceBackend
from meshc.result import CompileResult


def _trace(result: CompileResult) -> dict:
    return json.loads(TraceBackend().emit(result)["trace.json"])


def _names(events: list[dict], kind: str) -> dict[tuple[int, int], str]:
    return {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e["name"] == kind}


def test_trace_events_are_well_formed(result: CompileResult) -> None:
    events = _trace(result)["traceEvents"]
    assert isinstance(events, list) and events
    complete = [e for e in events if e["ph"] == "X"]
    assert complete
    for e in complete:
        assert e["dur"] >= 0 and e["ts"] >= 0
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
        assert isinstance(e["name"], str) and isinstance(e["args"], dict)
    assert {e["ph"] for e in events} == {"X", "M"}


def test_processes_and_tracks(result: CompileResult) -> None:
    events = _trace(result)["traceEvents"]
    procs = {pid: name for (pid, _), name in _names(events, "process_name").items()}
    assert sorted(procs.values()) == ["decode", "prefill"]
    threads = _names(events, "thread_name")
    for pid in procs:
        names = {n for (p, _), n in threads.items() if p == pid}
        assert {"core 0,0", "core 0,1", "core 1,0", "core 1,1", "hbm port 0,0"} <= names
        assert any(n.startswith("link ") for n in names)
    # every op appears once on the ops track and once on each core of its rectangle
    for pid, phase in procs.items():
        src = result.phase(phase)
        x = [e for e in events if e["ph"] == "X" and e["pid"] == pid]
        on_cores = [e for e in x if threads[(pid, e["tid"])].startswith("core ")]
        assert len(on_cores) == sum(len(o.cores) for o in src.ops)
        on_ops = [e for e in x if threads[(pid, e["tid"])].startswith("ops")]
        assert sorted(e["name"] for e in on_ops) == sorted(o.name for o in src.ops)
        assert all(e["args"]["macs"] >= 0 and "rect" in e["args"] for e in on_ops)


def test_events_on_one_track_never_overlap(result: CompileResult) -> None:
    """Two transfers that share a link at the same time go to two lanes of that link."""
    p = result.phase("prefill")
    t = p.transfers[0]
    twin = dataclasses.replace(t, src_op=t.src_op + "-twin")
    busy = dataclasses.replace(result, phases=(dataclasses.replace(
        p, transfers=(*p.transfers, twin)),))
    events = _trace(busy)["traceEvents"]
    threads = _names(events, "thread_name")
    assert any(n.endswith(" #2") for n in threads.values())
    by_track: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            by_track[(e["pid"], e["tid"])].append(e)
    for evs in by_track.values():
        evs.sort(key=lambda e: e["ts"])
        for a, b in itertools.pairwise(evs):
            assert a["ts"] + a["dur"] <= b["ts"] + 1e-9


def test_ids_are_deterministic(result: CompileResult) -> None:
    a, b = _trace(result)["traceEvents"], _trace(result)["traceEvents"]
    assert a == b
