"""Named studies: the registry (built-ins and plug-ins) and the written answers."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pytest

from meshc import registry
from meshc.errors import MeshcError
from meshc.studies import builtin
from meshc.studies.study import STUDY_GROUP, get_study, study_names
from meshc.studies.table import build


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    """Entry points of the studies group replaced by the test's list."""
    eps: list[EntryPoint] = []
    monkeypatch.setattr(registry, "entry_points", lambda group: eps if group == STUDY_GROUP
                        else entry_points(group=group))
    registry.plugins.cache_clear()
    yield eps
    registry.plugins.cache_clear()


def test_builtin_studies_are_registered() -> None:
    assert {"decode-cost", "mlp-headroom", "activation", "fit", "quantization",
            "disaggregation", "quant-tax"} <= set(study_names())
    assert get_study("fit") is builtin.FIT
    with pytest.raises(MeshcError, match="unknown study 'nope'"):
        get_study("nope")


@pytest.mark.parametrize(("value", "words"), [
    ("meshc.studies.builtin:FIT", "not a Study named 'mine'"),
    ("no_such_module_xyz:S", "plug-in 'mine' .* failed to load"),
])
def test_a_broken_plugin_names_itself(plugins: list[EntryPoint], value: str, words: str) -> None:
    plugins.append(EntryPoint("mine", value, STUDY_GROUP))
    with pytest.raises(MeshcError, match=words):
        get_study("mine")


def test_two_plugins_of_one_name_are_an_error(plugins: list[EntryPoint]) -> None:
    plugins += [EntryPoint("fit", "a:B", STUDY_GROUP), EntryPoint("fit", "c:D", STUDY_GROUP)]
    with pytest.raises(MeshcError, match="two plug-ins register 'fit'"):
        study_names()


def row(batch: int, ratio: float | None, reason: str = "", bound: str = "hbm") -> tuple[
        dict[str, Any], dict[str, Any]]:
    metrics = {} if ratio is None else {
        "decode_over_prefill_cost_per_token": ratio, "decode.idle_compute_fraction": 0.5,
        "decode.hbm_roofline_fraction": 0.9, "decode.bound_by": bound,
        "decode.latency_s": 1.0, "prefill.latency_s": 1.0}
    return {"batch": batch}, {"ok": ratio is not None, "reason": reason, "metrics": metrics}


def test_decode_cost_finds_the_crossing() -> None:
    t = build(["batch"], [row(1, 250.0), row(8, 40.0), row(64, 4.5), row(256, 2.0)])
    text = builtin.decode_cost(t)
    assert "250.0x a prefill token at batch 1" in text
    assert "crosses 5x at batch 64 (4.5x, 50.0% idle, decode at 90.0% of the HBM roofline)" \
        in text


def test_decode_cost_names_what_stops_it() -> None:
    t = build(["batch"], [row(1, 250.0), row(8, 40.0), row(64, None, "HBM holds 32 GB")])
    assert "still 40.0x at batch 8" in builtin.decode_cost(t)
    assert "stopped at batch 64 by: HBM holds 32 GB" in builtin.decode_cost(t)
    t = build(["batch"], [row(1, 250.0), row(8, 40.0, bound="compute")])
    assert "decode is bound by compute" in builtin.decode_cost(t)


def test_mlp_headroom_keeps_the_widest_within_5_percent() -> None:
    def r(m: float, lat: float) -> tuple[dict[str, Any], dict[str, Any]]:
        return ({"batch": 1, "arch.mlp_mult": m},
                {"ok": True, "reason": "", "metrics": {
                    "decode.latency_s": lat, "decode.idle_compute_fraction": 0.9,
                    "decode.bound_by": "hbm"}})

    t = build(["batch", "arch.mlp_mult"], [r(1, 1.00), r(2, 1.04), r(3, 1.06), r(5, 2.0)])
    assert builtin.mlp_headroom(t) == (
        "batch 1: the MLP can be 2x as wide (vs 1x) with decode latency within 5%: 1.04e+03 ms "
        "against 1e+03 ms (decode bound by hbm, 90.0% of compute idle); 3x takes +6%")


def test_the_worked_example_of_docs_studies_md_runs() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "studies.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(compile(code, "docs/studies.md", "exec"), scope)
    study = scope["KV_PRECISION"]
    assert study.name == "kv-precision"

    def r(kv: str, kv_len: int, pj: float) -> tuple[dict[str, Any], dict[str, Any]]:
        return ({"kv": kv, "kv_len": kv_len},
                {"ok": True, "reason": "", "metrics": {"decode.pj_per_token": pj,
                                                       "decode.latency_s": 1.0}})

    t = build(["kv", "kv_len"], [r("bf16", 2048, 10.0), r("int8", 2048, 8.0),
                                 r("bf16", 16384, 20.0)])
    assert study.answer(t) == ("kv_len 2048: an int8 cache costs 0.80x the decode energy per "
                               "token of bf16\nkv_len 16384: not compared (a point failed; "
                               "see report.md)")
