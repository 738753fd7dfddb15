"""Tokens of a phase: the token-id input's elements, else the request's batch x seq."""

from __future__ import annotations

from typing import Any

from xdsl.dialects import func

from meshc.driver import CompileOptions, _tokens, compile_model
from meshc.frontends import ModelRequest, spec
from meshc.frontends.transformer import Shape

SHAPE = Shape(batch=2, seq=8, kv_len=16)
INT8_ACT = {"name": "x", "shape": ["batch", "seq", 256], "dtype": "int8"}
IDS = {"name": "ids", "shape": ["batch", "seq"], "dtype": "i32"}
LINEAR = {"name": "up", "op": "linear", "inputs": ["x", "w"], "outputs": ["h"], "layer": 0,
          "block": "mlp"}


def phase(graph: dict[str, Any], shape: Shape = SHAPE) -> func.FuncOp:
    module = spec.from_data({"graph": graph}, "t.yaml", ("prefill",), shape)
    (f,) = [op for op in module.ops if isinstance(op, func.FuncOp)]
    return f


def test_an_int8_activation_is_not_a_token_id() -> None:
    f = phase({"inputs": [INT8_ACT], "weights": [{"name": "w", "shape": [256, 64],
                                                  "dtype": "int8"}],
               "nodes": [LINEAR], "outputs": ["h"]})
    assert _tokens(f, SHAPE) == 2 * 8  # not 2 * 8 * 256
    assert _tokens(f) == 1  # nothing to go by


def test_the_ids_an_embedding_reads_count_whatever_comes_first() -> None:
    f = phase({"inputs": [INT8_ACT, {**IDS, "shape": [3, 5]}],
               "weights": [{"name": "table", "shape": [100, 256]}],
               "nodes": [{"name": "emb", "op": "embedding", "inputs": ["ids", "table"],
                          "outputs": ["e"]}],
               "outputs": ["e", "x"]})
    assert _tokens(f, SHAPE) == 15


def test_compiled_phases_count_tokens_by_their_ids() -> None:
    r = compile_model(ModelRequest("gpt2", ("prefill", "decode"), SHAPE), "mesh-2x2",
                      CompileOptions(mapper="heft"))
    assert {p.name: p.tokens for p in r.phases} == {"prefill": 16, "decode": 2}
