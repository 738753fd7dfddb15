"""A sweep's quality columns: read from report.json's `quality` block, the basis a
perplexity is on, and the perplexity-per-picojoule fronts of the quantization study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshc.backends.report import report_json
from meshc.driver import CompileOptions, compile_model
from meshc.frontends import ModelRequest
from meshc.frontends.transformer import PHASES, Shape
from meshc.studies import builtin
from meshc.studies.grid import Point, settings
from meshc.studies.run import metrics, quality_metrics, run_task
from meshc.studies.table import build, front, with_pareto
from meshc.studies.tasks import resolve

TINY = str(Path(__file__).parents[2] / "fixtures" / "spec" / "tiny-llama.yaml")
# llama3-8b's compact form shrunk to a tiny model: a shape no table knows
SHRUNK = {"arch.layers": 1, "arch.hidden": 256, "arch.heads": 4, "arch.kv_heads": 1,
          "arch.intermediate": 512, "arch.vocab": 1000}


def point(model: str, **values: Any):  # type: ignore[no-untyped-def]
    s = settings({"model": model, "hw": "mesh-2x2", "mapper": "heft", "seq": 32,
                  "kv_len": 32}, Point(0, tuple(values.items())))
    return resolve(0, s)


def test_the_columns_are_the_reports_quality() -> None:
    result = compile_model(ModelRequest(TINY, PHASES, Shape(1, 32, 32)), "mesh-2x2",
                           CompileOptions(mapper="heft", train_tokens=10**9))
    q = report_json(result)["quality"]
    m = metrics(result, {})
    assert q["kind"] == "estimate"
    assert (m["loss"], m["perplexity"], m["quality_kind"]) == (q["loss"], q["perplexity"],
                                                               "estimate")
    assert m["quality_basis"] == "estimate by besiroglu-2024"
    assert m["quality_note"] == "D = 1e+09 tokens: --train-tokens"
    for ph in PHASES:
        assert m[f"{ph}.pj_per_token_at_quality"] == m[f"{ph}.pj_per_token"] > 0


def test_an_unknown_row_says_why_and_has_no_cost_at_quality() -> None:
    out = run_task(point(TINY))
    assert out.ok and out.metrics["quality_kind"] == "unknown"
    assert out.metrics["loss"] is None and out.metrics["quality_basis"] is None
    assert "no training tokens" in out.metrics["quality_note"]
    assert out.metrics["decode.pj_per_token_at_quality"] is None
    assert out.metrics["decode.pj_per_token"] > 0


def test_an_overridden_shape_is_estimated_with_the_base_models_tokens() -> None:
    task = point("llama3-8b", **SHRUNK)
    assert task.options.train_tokens == 15 * 10**12  # meshc/quality/train_tokens.yaml
    assert point("gpt2", **{"arch.layers": 1}).options.train_tokens is None  # none known
    assert point("llama3-8b").options.train_tokens is None  # the name matches the table
    out = run_task(task)
    assert out.ok and out.metrics["quality_kind"] == "estimate"
    assert out.metrics["quality_note"] == ("estimate for the overridden shape, trained on the "
                                           "base model's 1.5e+13 tokens")


def test_measured_and_missing_blocks() -> None:
    q = {"kind": "measured", "loss": 1.8, "perplexity": 6.05, "dataset": "wikitext2",
         "method": "AWQ", "source": "AWQ paper"}
    assert quality_metrics(q, False) == {
        "loss": 1.8, "perplexity": 6.05, "quality_kind": "measured",
        "quality_basis": "measured on wikitext2", "quality_note": "AWQ: AWQ paper"}
    assert quality_metrics(None, False)["quality_kind"] == "unknown"


def row(model: str, weights: str, ppl: float | None, pj: float, basis: str | None,
        ok: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    kind = "unknown" if basis is None else basis.split()[0]
    return ({"model": model, "weights": weights, "kv": "bf16"},
            {"ok": ok, "reason": "" if ok else "does not fit", "metrics": {} if not ok else {
                "decode.pj_per_token": pj, "prefill.pj_per_token": pj * 10,
                "decode.latency_s": 1.0, "prefill.latency_s": 1.0, "perplexity": ppl,
                "quality_kind": kind, "quality_basis": basis,
                "quality_note": "no tokens" if basis is None else ""}})


EST, MEAS = "estimate by besiroglu-2024", "measured on wikitext2"
TABLE = build(["model", "weights", "kv"], [
    row("a", "int4", 8.0, 1.0, EST),  # the cheapest estimate
    row("a", "bf16", 7.0, 2.0, EST),  # beaten by b bf16, but on another basis: on the front
    row("a", "int8", 8.5, 2.5, EST),  # worse than both above
    row("b", "bf16", 6.0, 1.5, MEAS),
    row("b", "int8", 6.5, 3.5, MEAS),  # worse than b bf16
    row("c", "bf16", None, 0.1, None),  # unknown: on no front
    row("c", "int4", 1.0, 0.1, EST, ok=False)])


def test_perplexities_front_only_their_own_basis() -> None:
    t, cols = with_pareto(TABLE, ["pj_per_token", "perplexity"])
    assert cols == ("decode.pj_per_token", "perplexity")
    assert [r["pareto"] for r in t.rows] == [True, True, False, True, False, False, False]
    # without a quality figure, every row competes with every other
    assert front(TABLE, ("decode.pj_per_token", "decode.latency_s")) == [
        False, False, False, False, False, True, False]


def test_the_quantization_answer_names_each_front_with_its_numbers() -> None:
    text = builtin.quantization(TABLE)
    assert ("perplexity per picojoule, decode, estimate by besiroglu-2024: the front is a "
            "weights=int4 kv=bf16 (8.000 at 1 pJ/token); a weights=bf16 kv=bf16 (7.000 at 2 "
            "pJ/token)") in text
    assert ("perplexity per picojoule, prefill, measured on wikitext2: the front is b "
            "weights=bf16 kv=bf16 (6.000 at 15 pJ/token)") in text
    assert "c weights=bf16 kv=bf16: quality unknown (no tokens)" in text
    assert "a weights=int4 kv=bf16: decode.pj_per_token 0.50x" in text  # against a's bf16
    assert "(relative to b weights=bf16 kv=bf16)" in text


@pytest.mark.parametrize("phase", ["decode", "prefill"])
def test_the_pareto_plot_of_each_phase_is_drawn(phase: str) -> None:
    from meshc.studies.plots import plot_files

    t, cols = with_pareto(TABLE, [f"{phase}.pj_per_token", "perplexity"])
    other = "prefill" if phase == "decode" else "decode"
    files = plot_files(t, [], cols)
    assert {"plots/pareto.png", f"plots/pareto_{other}.png"} <= files.keys()
