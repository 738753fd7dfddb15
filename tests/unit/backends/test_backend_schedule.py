"""schedule.json: every op, transfer and HBM record with planned and simulated times."""

from __future__ import annotations

import dataclasses
import json

from meshc.backends.schedule import ScheduleBackend
from meshc.result import CompileResult


def _schedule(result: CompileResult) -> dict:
    return json.loads(ScheduleBackend().emit(result)["schedule.json"])


def test_ops_transfers_and_hbm(result: CompileResult) -> None:
    s = _schedule(result)
    assert isinstance(s["schema_version"], int)
    assert s["clock_hz"] == 1e9
    assert list(s["phases"]) == ["decode", "prefill"]
    for name, ph in s["phases"].items():
        src = result.phase(name)
        assert len(ph["ops"]) == len(src.ops)
        assert len(ph["transfers"]) == len(src.transfers) > 0
        assert len(ph["hbm"]) == len(src.hbm) > 0
        by_name = {o.name: o for o in src.ops}
        for row in ph["ops"]:
            o = by_name[row["name"]]
            assert row["rect"] == list(o.rect)
            assert row["cores"] == [list(c) for c in o.cores]
            assert sum(row["tiles_per_core"]) == o.n_tiles
            for key in ("planned_start", "planned_end", "start", "end"):
                assert row[f"{key}_cycle"] == round(row[f"{key}_s"] * 1e9)
            assert row["end_s"] >= row["start_s"]
        starts = [row["start_s"] for row in ph["ops"]]
        assert starts == sorted(starts)
        for t in ph["transfers"]:
            assert t["hops"] == len(t["links"]) and t["bytes"] > 0


def test_no_cycles_when_the_machine_has_several_clocks(result: CompileResult) -> None:
    summary = dict(result.hardware_summary)
    summary["core_types"] = {"a": {"clock_hz": 1e9}, "b": {"clock_hz": 2e9}}
    s = _schedule(dataclasses.replace(result, hardware_summary=summary))
    assert s["clock_hz"] is None
    op = s["phases"]["prefill"]["ops"][0]
    assert "start_s" in op and "start_cycle" not in op


def test_hbm_rows_encode_as_the_json_encoder_does() -> None:
    """The HBM table is written without building dicts: the same bytes as the encoder's."""
    from meshc.backends.base import compact
    from meshc.backends.schedule import _Times, hbm_json, hbm_rows
    from meshc.result import HbmRecord

    records = [HbmRecord(op="L0.q", port=(0, 3), read_bytes=4096, write_bytes=0, start_s=0.0,
                         end_s=1.25e-7),
               HbmRecord(op='odd "name" é', port=(7, 0), read_bytes=0, write_bytes=10**15,
                         start_s=1 / 3, end_s=2e-3)]
    for clock in (1e9, 1.4e9, None):
        assert hbm_rows(records, _Times(clock)) == [compact(hbm_json(h, _Times(clock)))
                                                    for h in records]
