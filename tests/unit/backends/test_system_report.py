"""A system compile's report.json, report.md and trace.json (backends/system_report.py)."""

from __future__ import annotations

import json

import pytest

from meshc.backends.base import json_text
from meshc.backends.system_report import (
    SYSTEM_SCHEMA_VERSION,
    system_artifacts,
    system_report_json,
    system_report_md,
    system_trace,
)
from meshc.parallel.charges import LinkCharge, StepCharge
from meshc.parallel.compose import SystemResult, compose_phase

SUMMARY = {"name": "duo", "chips": 8, "topology": {"kind": "ring", "dims": None},
           "groups": [{"name": "tpu", "hw": "chip", "count": 8}]}


def link(kind: str, time_s: float, label: str) -> LinkCharge:
    return LinkCharge(kind, label, 2, "ring", 1e6, time_s, 2e6, 5e7)


def step(name: str, subgroup: int, compute_s: float, send: LinkCharge | None) -> StepCharge:
    return StepCharge(name, name, "tpu", subgroup, 2, "chip", compute_s, 1e9, 2.0, 0.1e-3,
                      0.2e-3, 10**9, (link("all_reduce", 0.2e-3, f"{name}.all_reduce"),), send)


def result(phases: tuple[str, ...] = ("prefill", "decode")) -> SystemResult:
    """Two stages of 2 chips (1 ms + a 0.2 ms all-reduce, a 0.1 ms send between), 2
    micro-batches, 2 replicas, on an 8-chip system."""
    chain = [step("s0", 0, 1e-3, link("send", 0.1e-3, "s0.send")), step("s1", 1, 1e-3, None)]
    ps = tuple(compose_phase(n, chain, 2, 2, 64 if n == "prefill" else 1, 8) for n in phases)
    return SystemResult("tiny", "duo", SUMMARY, {"tp": 2, "pp": 2, "dp": 2, "mb": 2},
                        "lower-quant | map-mesh", ps, ("a note",), {"batch": 4})


def test_json_keys_and_values() -> None:
    r = result()
    j = json.loads(json_text(system_report_json(r)))
    assert set(j) == {"schema_version", "kind", "model", "system", "system_summary",
                      "parallel", "pipeline", "options", "notes", "phases",
                      "decode_over_prefill_pj_per_token"}
    assert (j["schema_version"], j["kind"], j["notes"]) == (SYSTEM_SCHEMA_VERSION, "system",
                                                            ["a note"])
    assert j["parallel"] == {"dp": 2, "mb": 2, "pp": 2, "tp": 2}
    d = j["phases"]["decode"]
    assert {"latency_s", "period_s", "tokens_per_s", "tokens_per_s_per_chip", "energy_pj",
            "energy_breakdown_pj", "pj_per_token", "link_energy_share", "link_bytes",
            "collectives", "resources", "chips_used", "chips_idle", "bottleneck",
            "bottleneck_reason", "steps"} <= set(d)
    # s0 [0, 1.2] [1.2, 2.4] ms; s1 from 1.3: [1.3, 2.5] [2.5, 3.7]
    assert d["latency_s"] == pytest.approx(3.7e-3)
    assert d["period_s"] == pytest.approx(2.4e-3)
    assert d["energy_pj"] == pytest.approx(sum(d["energy_breakdown_pj"].values()))
    assert sorted(d["collectives"]) == ["all_reduce", "send"]
    assert d["collectives"]["all_reduce"]["count"] == 2 * 2 * 2
    assert [x["name"] for x in d["resources"]] == ["tpu[0]", "tpu[1]"]
    assert (d["chips_used"], d["chips_idle"]) == (8, 0)
    assert [s["name"] for s in d["steps"]] == ["s0", "s1"]
    assert d["steps"][0]["send"]["label"] == "s0.send" and d["steps"][1]["send"] is None
    assert j["decode_over_prefill_pj_per_token"] == pytest.approx(64.0)
    one = system_report_json(result(("decode",)))
    assert "decode_over_prefill_pj_per_token" not in one


def test_md_renders_the_answers_and_tables() -> None:
    md = system_report_md(result())
    assert md.startswith("# meshc system report: tiny on duo\n")
    assert "8 chips: 8 chip (tpu); ring. Parallel degrees: tp 2, pp 2, dp 2, mb 2" in md
    for head in ("## Notes", "## Answers", "## Summary", "## Chips", "## Collectives and sends"):
        assert f"\n{head}\n" in md
    assert "- decode: **3.7 ms** for a batch of 4 tokens" in md
    assert "tokens/s per chip" in md and "of which links" in md
    assert "- decode is bound by **" in md
    assert "| `tpu[1]` | chip | 2 | 1 |" in md
    assert "| decode | all_reduce | 8 |" in md and "| decode | send | 4 |" in md
    assert "Decode costs **64x** prefill per token." in md
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_md_without_links() -> None:
    lone = StepCharge("s", "s", "tpu", 0, 1, "chip", 1e-3, 1.0, 0.0, 0.0, 0.0, 1, (), None)
    r = SystemResult("m", "one", {"chips": 1}, {"tp": 1}, "p",
                     (compose_phase("decode", [lone], 1, 1, 1, 1),))
    md = system_report_md(r)
    assert "None: every step runs on one chip and nothing is sent." in md
    assert "Decode costs" not in md


def test_trace_tracks_and_spans() -> None:
    r = result()
    events = json.loads(system_artifacts(r)["trace.json"])["traceEvents"]
    procs = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert procs == {1: "prefill", 2: "decode"}
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
               if e["name"] == "thread_name"}
    # s0 mb1's all-reduce [2.2, 2.4] ms overlaps s1 mb0's [2.3, 2.5]: a second lane
    assert [n for (pid, _), n in sorted(threads.items()) if pid == 2] == [
        "tpu[0]", "tpu[1]", "all_reduce", "all_reduce #2", "send"]
    x = [e for e in events if e["ph"] == "X" and e["pid"] == 2]
    on = {name: [e for e in x if threads[(2, e["tid"])].split(" #")[0] == name]
          for name in ("tpu[0]", "tpu[1]", "all_reduce", "send")}
    assert [(e["name"], e["ts"], e["dur"]) for e in on["tpu[1]"]] == [
        ("s1 mb0", 1300.0, 1200.0), ("s1 mb1", 2500.0, 1200.0)]
    # all-reduces at the end of their step's span, sends right after it
    assert sorted((e["ts"], e["name"]) for e in on["all_reduce"]) == [
        (1000.0, "s0.all_reduce"), (2200.0, "s0.all_reduce"), (2300.0, "s1.all_reduce"),
        (3500.0, "s1.all_reduce")]
    assert [(e["ts"], e["dur"]) for e in on["send"]] == [(1200.0, 100.0), (2400.0, 100.0)]
    assert on["send"][0]["args"]["micro_batch"] == 0
    assert all(e["dur"] >= 0 for e in x)


def test_trace_splits_overlapping_link_spans_into_lanes() -> None:
    # two stages whose all-reduces coincide: s0 mb1's and s1 mb0's both run at [2, 3]
    chain = [StepCharge(f"s{i}", "k", "tpu", i, 2, "chip", 1.0, 1.0, 0.0, 0.0, 0.0, 1,
                        (link("all_reduce", 1.0, f"s{i}.ar"),), None) for i in range(2)]
    r = SystemResult("m", "s", {"chips": 4}, {"pp": 2}, "p",
                     (compose_phase("decode", chain, 2, 1, 1, 4),))
    events = system_trace(r)["traceEvents"]
    names = [json.loads(e)["args"]["name"] for e in events if '"thread_name"' in e]
    assert names == ["tpu[0]", "tpu[1]", "all_reduce", "all_reduce #2"]


def test_outputs_are_deterministic() -> None:
    assert system_artifacts(result()) == system_artifacts(result())
    assert set(system_artifacts(result())) == {"report.json", "report.md", "trace.json"}
