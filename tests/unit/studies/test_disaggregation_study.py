"""The disaggregation study (attention on HBM chips, the MLP on SRAM chips, against the HBM
chips alone) and the single-chip regions study it replaced, on hand-made rows."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from meshc.studies import builtin
from meshc.studies.study import Study
from meshc.studies.table import build

Rows = list[tuple[dict[str, Any], dict[str, Any]]]


def row(hw: str, batch: int, lat: float, pj: float, tps: float, ok: bool = True,
        bound: str = "pipeline") -> tuple[dict[str, Any], dict[str, Any]]:
    metrics = {"decode.latency_s": lat, "decode.pj_per_token": pj,
               "decode.tokens_per_s_per_chip": tps, "decode.chips_used": 40 if hw == "A" else 8,
               "decode.bottleneck": bound, "layout": "tp=4,mlp_tp=16" if hw == "A"
               else "tp=8"}
    return ({"hw": hw, "batch": batch},
            {"ok": ok, "reason": "" if ok else "pass x: SRAM is full: details",
             "metrics": metrics if ok else {}})


def test_the_crossover_of_each_figure() -> None:
    # latency: B wins at 2 and 8, A from 32 (0.5x); pJ: B everywhere; tokens/s per chip:
    # A at 2, B at 8, A at 32 (two changes)
    t = build(["hw", "batch"], [row("A", 2, 3.0, 20.0, 5.0), row("A", 8, 2.0, 20.0, 1.0),
                                row("A", 32, 1.0, 20.0, 9.0), row("B", 2, 1.0, 10.0, 4.0, bound="hbm"),
                                row("B", 8, 1.0, 10.0, 2.0, bound="hbm"),
                                row("B", 32, 2.0, 10.0, 3.0, bound="compute")])
    assert builtin.disaggregation(t).splitlines() == [
        "A (tp=4,mlp_tp=16 on 40 chips) against B (tp=8 on 8 chips); ratios are A / B",
        "decode latency: B at 2, 8; A at 32; the lead changes between batch 8 and 32 "
        "(A / B: 3x at batch 2, 2x at batch 8, 0.5x at batch 32)",
        "decode pJ/token: B wins at every batch (A / B: 2x at batch 2, 2x at batch 8, "
        "2x at batch 32)",
        "decode tokens/s per chip: A at 2; B at 8; A at 32; the lead changes between batch 2 "
        "and 8, between batch 8 and 32 (A / B: 1.25x at batch 2, 0.5x at batch 8, 3x at "
        "batch 32)",
        "decode bound by: A pipeline at every batch; B hbm at 2, 8; compute at 32"]


def test_one_system_winning_everywhere_is_said_plainly_and_failures_named() -> None:
    t = build(["hw", "batch"], [row("A", 2, 3.0, 20.0, 1.0), row("A", 128, 0, 0, 0, ok=False),
                                row("B", 2, 1.0, 10.0, 4.0), row("B", 128, 1.0, 10.0, 4.0)])
    text = builtin.disaggregation(t)
    assert "B wins every figure at every batch compared" in text
    assert "decode latency: B wins at every batch (A / B: 3x at batch 2)" in text
    assert text.endswith("A batch 128: failed: SRAM is full")


def test_two_systems_are_needed() -> None:
    t = build(["batch"], [({"batch": 2}, {"ok": True, "reason": "", "metrics": {
        "decode.latency_s": 1.0}})])
    assert builtin.disaggregation(t).startswith("needs two systems to compare")


def test_the_study_pairs_each_system_with_its_layout() -> None:
    st = builtin.DISAGGREGATION
    assert st.hws == ("hetero-v6e-groq", "tpu-v6e-8") and st.paired == ("hw", "parallel")
    assert st.fixed["pipeline"] == "quantized" and st.fixed["mapper"] == "heft"


def test_the_regions_study_keeps_the_single_chip_question() -> None:
    def r(pipeline: str, batch: int, lat: float) -> tuple[dict[str, Any], dict[str, Any]]:
        return ({"pipeline": pipeline, "batch": batch}, {"ok": True, "reason": "", "metrics": {
            "prefill.latency_s": lat, "decode.latency_s": lat, "decode.pj_per_token": 2 * lat}})

    t = build(["pipeline", "batch"], [r("default", 1, 2.0), r("disaggregated", 1, 1.0),
                                      r("default", 8, 4.0)])
    assert builtin.regions(t) == (
        "batch 1: disaggregated vs shared: prefill.latency_s 0.50x, decode.latency_s 0.50x, "
        "decode.pj_per_token 0.50x\nbatch 8: not compared")
    assert builtin.REGIONS.name == "regions" and builtin.REGIONS.hws == ("mesh-4x4",)


def test_every_builtin_study_is_registered_in_pyproject() -> None:
    data = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    declared = data["project"]["entry-points"]["meshc.studies"]
    studies = {v.name: f"meshc.studies.builtin:{k}" for k, v in vars(builtin).items()
               if isinstance(v, Study)}
    assert {"regions", "disaggregation"} <= studies.keys()
    assert {n: declared.get(n) for n in studies} == studies
