"""`meshc study quant-tax`: the depths that reach quant_tax's multipliers, the points it
runs, and an answer quoting quant_tax's figures."""

from __future__ import annotations

from typing import Any

import pytest

from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import Shape
from meshc.ir.summary import model_parameters
from meshc.quality import quant_tax
from meshc.quality.tables import train_tokens
from meshc.studies.grid import parse_grid
from meshc.studies.quant_tax import Plan, answer, expand, plan
from meshc.studies.sweep import Sweep
from meshc.studies.table import build


def test_the_fewest_layers_at_or_above_a_multiplier() -> None:
    p = Plan("m", 10**9, layers=10, parameters=1000, per_layer=100, taxes=())
    # 1.05 x 1000 needs 50 more parameters: one layer; 1.2 x needs exactly two
    assert [p.layers_for(m) for m in (1.0, 1.05, 1.2, float("inf"))] == [10, 11, 12, None]
    assert p.parameters_at(12) == 1200


def test_the_plan_asks_quant_tax_of_the_models_own_count() -> None:
    n, emb = model_parameters(load_model(ModelRequest("llama3-8b", ("prefill",),
                                                      Shape(1, 1, 1))))
    d = train_tokens().models["llama3-8b"].tokens
    assert d is not None
    p = plan("llama3-8b")
    assert (p.parameters, p.tokens, p.layers) == (n, d, 32)
    assert p.taxes == (quant_tax(n, n - emb, d, "int8"), quant_tax(n, n - emb, d, "int4"))
    # a Llama 3 8B layer: 4 attention matrices (4096^2 x 2 + 4096 x 1024 x 2), 3 MLP
    # matrices (4096 x 14336 x 3) and 2 norms of 4096
    assert p.per_layer == 2 * 4096**2 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096
    with pytest.raises(MeshcError, match="training tokens of 'gpt2'"):
        plan("gpt2")


def test_expand_zips_one_point_per_tax_and_keeps_single_values() -> None:
    p = plan("llama3-8b")
    s = expand(Sweep(("llama3-8b",), ("tpu-v6e-like",), parse_grid(["batch=4"]),
                     {"mapper": "heft"}))
    assert s.grid.zipped and s.fixed == {"mapper": "heft", "batch": 4}
    values = {a.key: a.values for a in s.grid.axes}
    assert values["weights"] == ("bf16", "int8", "int8", "int4", "int4")
    assert values["arch.layers"] == (32, *(p.layers_for(m) for t in p.taxes
                                            for m in (t.trained, t.post_training)))
    assert len(s.full_grid().points()) == 5
    for bad, words in (("batch=1,8", "one value of batch"), ("weights=int4", "sets weights")):
        with pytest.raises(MeshcError, match=words):
            expand(Sweep(("llama3-8b",), ("tpu-v6e-like",), parse_grid([bad])))


def test_the_answer_quotes_quant_tax_and_compares_with_bf16() -> None:
    p = plan("llama3-8b")
    int4 = p.taxes[1]
    deep = p.layers_for(int4.post_training)
    assert deep is not None

    def r(weights: str, layers: int, pj: float) -> tuple[dict[str, Any], dict[str, Any]]:
        return ({"model": "llama3-8b", "hw": "tpu-v6e-like", "weights": weights,
                 "arch.layers": layers},
                {"ok": True, "reason": "", "metrics": {
                    "decode.pj_per_token": pj, "prefill.pj_per_token": pj / 100, "loss": 2.0,
                    "decode.latency_s": 1.0, "prefill.latency_s": 1.0}})

    t = build(["model", "hw", "weights", "arch.layers"], [r("bf16", 32, 800.0),
                                                           r("int4", deep, 1200.0)])
    text = answer(t)
    assert f"x{int4.post_training:.3f} the parameters (above the claim), {deep} layers" in text
    assert "1200 pJ/token in decode (1.50x bf16's), 12 in prefill (1.50x), loss 2.0000" in text
    assert f"int4 weights, trained at that precision: x{int4.trained:.3f}" in text
    assert "did not compile (not run)" in text  # the int8 points are not in this table
    assert "the claim: x1.40" in text
