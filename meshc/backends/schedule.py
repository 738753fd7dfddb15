"""The `schedule` backend: schedule.json, where and when every op ran.

Per phase: every op with its core rectangle, its cores, the mapper's planned and the
simulator's start and end (seconds, and cycles when the machine has one clock), then every
NoC transfer and every HBM port record. Ops are in simulated start order; transfers and
HBM records in start order too. Deterministic: sorted keys, times to 12 significant
digits, cycles as integers; one record a line.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii
from typing import Any

from meshc.backends.base import (
    TIME_DIGITS,
    Artifacts,
    EncodedRows,
    clock_hz,
    cycles,
    gc_paused,
    round_sig,
    rows_text,
)
from meshc.hardware.spread import tiles_per_core
from meshc.result import SCHEMA_VERSION, CompileResult, HbmRecord, OpRecord, TransferRecord


class _Times:
    """Writes times as `<key>_s` (12 significant digits) and, with one clock, `<key>_cycle`;
    memoised: an op's HBM records and many transfers share their times."""

    def __init__(self, clock: float | None) -> None:
        self.clock = clock
        self._memo: dict[float, tuple[float | None, int | None]] = {}
        self._text: dict[tuple[str, float], str] = {}

    def put(self, d: dict[str, Any], **times: float) -> dict[str, Any]:
        for key, s in times.items():
            got = self._memo.get(s)
            if got is None:
                got = self._memo[s] = (round_sig(s, TIME_DIGITS), cycles(s, self.clock))
            d[f"{key}_s"] = got[0]
            if self.clock:
                d[f"{key}_cycle"] = got[1]
        return d

    def text(self, key: str, s: float) -> str:
        """`put`'s keys and values for one time as compact JSON (`"<key>_cycle":..,` then
        `"<key>_s":..`), memoised: the many HBM records of an op share their times."""
        got = self._text.get((key, s))
        if got is None:
            d = self.put({}, **{key: s})
            got = self._text[key, s] = ",".join(f'"{k}":{_num(v)}' for k, v in sorted(d.items()))
        return got


def _num(v: float | int | None) -> str:
    """A JSON number as the C encoder writes it (repr), null for None."""
    return "null" if v is None else repr(v)


def op_json(o: OpRecord, times: _Times) -> dict[str, Any]:
    cores = o.cores  # tuples are written as JSON lists
    return times.put({
        "name": o.name, "class": o.op_class, "kind": o.kind, "layer": o.layer,
        "block": o.block, "region": o.region, "precision": o.precision, "rect": o.rect,
        "step": o.step, "cores": cores, "tiles": o.n_tiles, "tile_shape": o.tile_shape,
        "tiles_per_core": tiles_per_core(o.n_tiles, len(cores)),
        "compute_s": round_sig(o.compute_s, TIME_DIGITS), "hbm_read_bytes": o.hbm_read_bytes,
        "hbm_write_bytes": o.hbm_write_bytes,
    }, planned_start=o.planned_start_s, planned_end=o.planned_end_s, start=o.start_s,
        end=o.end_s)


def transfer_json(t: TransferRecord, times: _Times) -> dict[str, Any]:
    return times.put({
        "src_op": t.src_op, "dst_op": t.dst_op, "src_core": t.src_core,
        "dst_core": t.dst_core, "bytes": t.bytes, "hops": t.hops, "links": t.links,
    }, start=t.start_s, end=t.end_s)


def hbm_json(h: HbmRecord, times: _Times) -> dict[str, Any]:
    return times.put({"op": h.op, "port": h.port, "read_bytes": h.read_bytes,
                      "write_bytes": h.write_bytes}, start=h.start_s, end=h.end_s)


def hbm_rows(records: list[HbmRecord], times: _Times) -> EncodedRows:
    """`hbm_json` of every record, each as compact JSON written directly (keys in sorted
    order): the table has a row per op, port and phase, and one C encode of as many dicts
    costs more than the rows' few distinct pieces."""
    names: dict[str, str] = {}
    rows = EncodedRows()
    for h in records:
        op = names.get(h.op)
        if op is None:
            op = names[h.op] = encode_basestring_ascii(h.op)
        rows.append(f'{{{times.text("end", h.end_s)},"op":{op},"port":[{int(h.port[0])},'
                    f'{int(h.port[1])}],"read_bytes":{int(h.read_bytes)},'
                    f'{times.text("start", h.start_s)},"write_bytes":{int(h.write_bytes)}}}')
    return rows


def schedule_json(result: CompileResult) -> dict[str, Any]:
    clock = clock_hz(result)
    times = _Times(clock)
    phases = {}
    for p in result.phases:
        ops = sorted(p.ops, key=lambda o: (o.start_s, o.end_s, o.name))
        transfers = sorted(p.transfers, key=lambda t: (t.start_s, t.end_s, t.src_op, t.dst_op,
                                                       t.src_core, t.dst_core))
        hbm = sorted(p.hbm, key=lambda h: (h.start_s, h.end_s, h.op, h.port))
        phases[p.name] = times.put({
            "tokens": p.tokens,
            "ops": [op_json(o, times) for o in ops],
            "transfers": [transfer_json(t, times) for t in transfers],
            "hbm": hbm_rows(hbm, times),
        }, latency=p.latency_s, planned_makespan=p.mapper.makespan_s)
    return {
        "schema_version": SCHEMA_VERSION,
        "model": result.model,
        "hardware": result.hardware,
        "mesh": list(result.mesh),
        "clock_hz": round_sig(clock) if clock else None,
        "pipeline": result.pipeline,
        "phases": phases,
    }


class ScheduleBackend:
    """schedule.json: per op its rectangle, cores, planned and simulated times; transfers."""

    name = "schedule"

    def emit(self, result: CompileResult) -> Artifacts:
        with gc_paused():
            return {"schedule.json": rows_text(schedule_json(result))}
