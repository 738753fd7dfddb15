"""report.json: every key tools rely on, with its type and its meaning; report.md."""

from __future__ import annotations

import dataclasses
import json

import pytest

from meshc.backends.plots import plot_files
from meshc.backends.report import ReportBackend, worst_status
from meshc.result import ENERGY_COMPONENTS, CompileResult

PHASE_KEYS = {
    "latency_s": float, "energy_pj": float, "tokens": int, "pj_per_token": float,
    "tokens_per_s": float, "lower_bound_s": float, "macs": int, "achieved_tflops": float,
    "compute_utilization": float, "idle_compute_fraction": float,
    "energy_breakdown_pj": dict, "energy_by_op_class_pj": dict, "mapper": dict,
    "predicted_vs_simulated": dict, "ops": list,
}
MAPPER_KEYS = {"solver": str, "status": str, "makespan_s": float, "heft_makespan_s": float,
               "lower_bound_s": float, "fell_back": bool}
OP_KEYS = {"name", "class", "layer", "block", "region", "precision", "tiles", "rect",
           "start_s", "end_s", "macs", "energy_pj"}


def _report(result: CompileResult) -> dict:
    return json.loads(ReportBackend().emit(result)["report.json"])


def test_top_level_keys_and_types(result: CompileResult) -> None:
    r = _report(result)
    assert isinstance(r["schema_version"], int)
    assert r["model"] == "synthetic" and r["hardware"] == "synthetic-2x2"
    assert r["notes"] == []
    assert r["decode_over_prefill_cost_per_token"] == pytest.approx(
        result.decode_over_prefill_cost_per_token, rel=1e-6)
    assert set(r["phases"]) == {"prefill", "decode"}
    for key, typ in MAPPER_KEYS.items():
        assert isinstance(r["mapper"][key], typ), key


@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_phase_keys_types_and_values(result: CompileResult, phase: str) -> None:
    p, src = _report(result)["phases"][phase], result.phase(phase)
    for key, typ in PHASE_KEYS.items():
        assert isinstance(p[key], typ), key
    for key, typ in MAPPER_KEYS.items():
        assert isinstance(p["mapper"][key], typ), key
    for key in ("latency_s", "energy_pj", "pj_per_token", "tokens_per_s", "achieved_tflops",
                "compute_utilization", "idle_compute_fraction", "lower_bound_s"):
        assert p[key] == pytest.approx(getattr(src, key), rel=1e-6), key
    assert p["tokens"] == src.tokens and p["macs"] == src.macs


@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_energy_breakdown_sums_to_the_total(result: CompileResult, phase: str) -> None:
    p = _report(result)["phases"][phase]
    assert list(p["energy_breakdown_pj"]) == sorted(ENERGY_COMPONENTS)
    assert sum(p["energy_breakdown_pj"].values()) == pytest.approx(p["energy_pj"], rel=1e-6)
    dynamic = p["energy_pj"] - p["energy_breakdown_pj"]["static"]
    assert sum(p["energy_by_op_class_pj"].values()) == pytest.approx(dynamic, rel=1e-6)


def test_predicted_vs_simulated_and_op_table(result: CompileResult) -> None:
    for name, p in _report(result)["phases"].items():
        src = result.phase(name)
        pv = p["predicted_vs_simulated"]
        assert pv["predicted_s"] == pytest.approx(src.mapper.makespan_s)
        assert pv["simulated_s"] == pytest.approx(src.latency_s)
        assert pv["simulated_over_predicted"] == pytest.approx(
            src.latency_s / src.mapper.makespan_s, rel=1e-6)
        assert len(p["ops"]) == len(src.ops)
        assert all(set(row) >= OP_KEYS for row in p["ops"])
        starts = [row["start_s"] for row in p["ops"]]
        assert starts == sorted(starts)
        assert sum(row["macs"] for row in p["ops"]) == src.macs


def test_mapper_aggregates_the_phases(result: CompileResult) -> None:
    m = _report(result)["mapper"]
    assert m["status"] == "FALLBACK"  # decode fell back: the worst status wins
    assert m["fell_back"] is True
    assert m["solver"] == "cpsat+heft"
    assert m["makespan_s"] == pytest.approx(sum(p.mapper.makespan_s for p in result.phases))
    assert m["lower_bound_s"] == pytest.approx(sum(p.mapper.lower_bound_s for p in result.phases))
    assert worst_status(["OPTIMAL", "FEASIBLE"]) == "FEASIBLE"
    assert worst_status(["FEASIBLE", "SOMETHING-NEW"]) == "SOMETHING-NEW"


def test_one_phase_has_no_decode_over_prefill(result: CompileResult) -> None:
    only = dataclasses.replace(result, phases=(result.phase("decode"),))
    r = _report(only)
    assert "decode_over_prefill_cost_per_token" not in r
    assert set(r["phases"]) == {"decode"}
    assert r["mapper"]["status"] == "FALLBACK"


def test_wall_clock_times_do_not_reach_the_reports(result: CompileResult) -> None:
    phases = tuple(dataclasses.replace(p, mapper=dataclasses.replace(p.mapper, solve_time_s=9.0))
                   for p in result.phases)
    other = dataclasses.replace(result, compile_time_s=99.0, phases=phases,
                                timings_s={"passes": 3.0})
    assert ReportBackend().emit(result) == ReportBackend().emit(other)


def test_notes_and_shape_reach_both_reports(result: CompileResult) -> None:
    noted = dataclasses.replace(result, notes=(("frontend", "gpt2 has 1,024 positions"),))
    r = _report(noted)
    assert r["notes"] == [{"source": "frontend", "text": "gpt2 has 1,024 positions"}]
    md = ReportBackend().emit(noted)["report.md"]
    assert "## Notes" in md and "- gpt2 has 1,024 positions (frontend)" in md
    assert "batch 1, seq 64" in md


def test_report_md_answers_and_links(result: CompileResult) -> None:
    md = ReportBackend().emit(result)["report.md"]
    ratio = result.decode_over_prefill_cost_per_token
    assert f"Decode costs **{ratio:.3g}x** prefill per token" in md
    idle = result.phase("decode").idle_compute_fraction
    assert f"**{100 * idle:.1f}%** of the chip's MAC capacity idles in decode" in md
    for heading in ("## Summary", "## Where the energy goes", "## Latency per phase",
                    "## Predicted vs simulated", "## Plots"):
        assert heading in md
    assert "FALLBACK" in md and "OPTIMAL" in md
    for _, path in plot_files(result):
        assert f"]({path})" in md
