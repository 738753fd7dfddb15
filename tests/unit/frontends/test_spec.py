"""The spec format (docs/spec-format.md): both forms, every op, inference and names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model, spec
from meshc.frontends.transformer import PHASES, Shape
from meshc.ir import graph as g
from meshc.ir.summary import inspect_module

FIXTURES = Path(__file__).parents[2] / "fixtures" / "spec"
ZOO = Path(__file__).parents[3] / "meshc" / "frontends" / "zoo"
SHAPE = Shape(batch=2, seq=16, kv_len=24)


def figures(module: ModuleOp) -> dict[str, dict[str, Any]]:
    return {ph: {k: v for k, v in f.items() if k not in ("ops", "op_rows")}
            for ph, f in inspect_module(module)["phases"].items()}


def build(graph: dict[str, Any], phases: tuple[str, ...] = PHASES,
          shape: Shape = SHAPE) -> ModuleOp:
    return spec.from_data({"graph": graph}, "t.yaml", phases, shape)


def ops_of(module: ModuleOp) -> list[g.GraphOp]:
    return [op for op in module.walk() if isinstance(op, g.GraphOp)]


# -- the documented example -------------------------------------------------------------------


def test_doc_example_is_the_fixture() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "spec-format.md").read_text()
    fixture = (FIXTURES / "tiny-decoder.yaml").read_text()
    body = fixture.split("name: tiny-decoder", 1)[1]
    assert body in doc  # the doc shows the fixture verbatim (apart from its header lines)


def test_doc_example_imports() -> None:
    module = load_model(ModelRequest(str(FIXTURES / "tiny-decoder.yaml"), shape=SHAPE))
    module.verify()
    [f] = [op for op in module.ops if isinstance(op, func.FuncOp)]
    assert f.sym_name.data == "prefill"
    fig = figures(module)["prefill"]
    d, f_, V, T, B = 256, 512, 1000, SHAPE.seq, SHAPE.batch
    per_token = d * d + 2 * d * 64 + d * d + 3 * d * f_
    assert fig["linear_macs"] == B * T * per_token + B * V * d  # LM head on the last token
    assert fig["attention_macs"] == B * 4 * T * T * (64 + 64)
    params = V * d + 2 * d + per_token + d + V * d
    assert fig["parameters"] == params and fig["weight_bytes"] == 2 * params
    assert fig["kv_cache_bytes"] == B * T * 2 * 64 * 2


def test_json_and_yaml_forms_agree() -> None:
    a = load_model(ModelRequest(str(FIXTURES / "tiny-decoder.yaml"), shape=SHAPE))
    b = load_model(ModelRequest(str(FIXTURES / "tiny-decoder.json"), shape=SHAPE))
    assert str(a) == str(b)


def test_values_are_named_after_the_spec() -> None:
    text = str(spec.load(FIXTURES / "tiny-decoder.yaml", PHASES, SHAPE))
    assert "func.func @prefill(%ids: tensor<2x16xi32>)" in text
    assert "%x1 = tfm.add %x0, %a layer 0 attention" in text
    assert '%wq = tfm.weight "wq" layer 0 attention' in text


def test_weights_take_their_first_users_layer_and_block() -> None:
    module = spec.load(FIXTURES / "tiny-decoder.yaml", PHASES, SHAPE)
    where = {op.param.data: (op.layer_index, op.block_name)
             for op in ops_of(module) if isinstance(op, g.WeightOp)}
    assert where["w_gate"] == (0, "mlp")
    assert where["attn_norm"] == (0, "attention")  # stated in the spec
    assert where["lm_head"] == (-1, "other")


# -- the compact form ---------------------------------------------------------------------------


@pytest.mark.parametrize("zoo_name", ["llama3-8b", "gpt2"])
def test_architecture_form_equals_zoo(tmp_path: Path, zoo_name: str) -> None:
    fields = yaml.safe_load((ZOO / f"{zoo_name}.yaml").read_text())
    fields.pop("source")
    name = fields.pop("name")
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump({"name": name, "architecture": fields}))
    assert figures(load_model(ModelRequest(str(path), shape=SHAPE))) == figures(
        load_model(ModelRequest(zoo_name, shape=SHAPE)))


def test_architecture_fixture_both_phases() -> None:
    module = load_model(ModelRequest(str(FIXTURES / "tiny-llama.yaml"), shape=SHAPE))
    assert list(figures(module)) == ["prefill", "decode"]
    dec = load_model(ModelRequest(str(FIXTURES / "tiny-llama.yaml"), ("decode",), SHAPE))
    assert list(figures(dec)) == ["decode"]


def test_architecture_encoder_both_means_prefill() -> None:
    data = {"architecture": {"kind": "encoder", "hidden": 64, "layers": 1, "heads": 2,
                             "intermediate": 128, "vocab": 100, "norm": "layernorm",
                             "gated": False, "activation": "gelu"}}
    module = spec.from_data(data, "enc.yaml", PHASES, SHAPE)
    assert list(figures(module)) == ["prefill"]


def test_architecture_json(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"architecture": {"hidden": 64, "layers": 2, "heads": 4,
                                                 "intermediate": 128, "vocab": 100}}))
    module = load_model(ModelRequest(str(path), shape=SHAPE))
    assert len(ops_of(module)) > 20


# -- the graph form: shapes, phases, symbols ------------------------------------------------


MLP = {
    "inputs": [{"name": "x", "shape": ["batch", "seq", 32]}],
    "weights": [{"name": "w1", "shape": [32, 64]}, {"name": "w2", "shape": [64, 32]}],
    "nodes": [
        {"name": "up", "op": "linear", "inputs": ["x", "w1"], "outputs": ["h"],
         "layer": 0, "block": "mlp"},
        {"name": "act", "op": "gelu", "inputs": ["h"], "outputs": ["a"], "layer": 0,
         "block": "mlp"},
        {"name": "down", "op": "linear", "inputs": ["a", "w2"], "outputs": ["y"], "layer": 0,
         "block": "mlp"},
    ],
    "outputs": ["y"],
}


def test_symbolic_dims_follow_the_shape() -> None:
    m = build(MLP, shape=Shape(batch=3, seq=5))
    assert figures(m)["prefill"]["linear_macs"] == 3 * 5 * (32 * 64 + 64 * 32)


def test_decode_graph() -> None:
    m = build({**MLP, "phase": "decode"})
    assert list(figures(m)) == ["decode"]
    with pytest.raises(MeshcError, match="only the 'decode' phase"):
        build({**MLP, "phase": "decode"}, phases=("prefill",))


def test_dtypes() -> None:
    graph = {**MLP, "dtype": "f32",
             "weights": [{"name": "w1", "shape": [32, 64], "dtype": "int4"},
                         {"name": "w2", "shape": [64, 32], "dtype": "fp8"}]}
    fig = figures(build(graph))["prefill"]
    assert fig["weight_bytes"] == 32 * 64 // 2 + 64 * 32
    text = str(build(graph))
    assert "tensor<32x64xi4>" in text and "tensor<64x32xf8E4M3FN>" in text
    assert "tensor<2x16x32xf32>" in text


def test_unused_weight_still_counts() -> None:
    graph = {**MLP, "weights": [*MLP["weights"], {"name": "spare", "shape": [10, 10]}]}
    assert figures(build(graph))["prefill"]["parameters"] == 32 * 64 * 2 + 100


def test_every_op_kind_builds() -> None:
    d, f, e = 32, 16, 4
    graph = {
        "dtype": "bf16",
        "inputs": [{"name": "ids", "shape": [1, 8], "dtype": "i32"}],
        "weights": [
            {"name": "table", "shape": [50, d]}, {"name": "gamma", "shape": [d]},
            {"name": "beta", "shape": [d]}, {"name": "wq", "shape": [d, d]},
            {"name": "wkv", "shape": [d, 16]}, {"name": "bkv", "shape": [16]},
            {"name": "router", "shape": [d, e]}, {"name": "gate", "shape": [e + 1, d, f]},
            {"name": "up", "shape": [e + 1, d, f]}, {"name": "down", "shape": [e + 1, f, d]},
            {"name": "kv_b", "shape": [16, 4 * (8 - 4 + 8)]},
            {"name": "wq_mla", "shape": [d, 4 * 8]},
        ],
        "nodes": [
            {"name": "emb", "op": "embedding", "inputs": ["ids", "table"], "outputs": ["x"]},
            {"name": "ln", "op": "layernorm", "inputs": ["x", "gamma", "beta"],
             "outputs": ["n"]},
            {"name": "rms", "op": "rmsnorm", "inputs": ["n", "gamma"], "outputs": ["r"]},
            {"name": "q", "op": "linear", "inputs": ["r", "wq"], "outputs": ["q"]},
            {"name": "kv", "op": "linear", "inputs": ["r", "wkv", "bkv"], "outputs": ["kv"]},
            {"name": "rq", "op": "rope", "inputs": ["q"], "outputs": ["rq"]},
            {"name": "past", "op": "kv_read", "outputs": ["past"],
             "attributes": {"cache": "kv", "shape": [1, 5, 16]}},
            {"name": "cache", "op": "kv_append", "inputs": ["kv", "past"], "outputs": ["c"],
             "attributes": {"cache": "kv"}},
            {"name": "att", "op": "attention", "inputs": ["rq", "c", "c"], "outputs": ["o"],
             "attributes": {"heads": 4, "kv_heads": 2, "causal": True}},
            {"name": "sc", "op": "matmul", "inputs": ["q", "q"], "outputs": ["s"],
             "attributes": {"transpose_b": True}},
            {"name": "sm", "op": "softmax", "inputs": ["s"], "outputs": ["p"]},
            {"name": "cat", "op": "concat", "inputs": ["o", "o"], "outputs": ["oo"]},
            {"name": "act", "op": "activation", "inputs": ["o", "q"], "outputs": ["a"],
             "attributes": {"kind": "silu"}},
            {"name": "mul", "op": "mul", "inputs": ["a", "gamma"], "outputs": ["am"]},
            {"name": "moe", "op": "moe", "inputs": ["am", "router", "gate", "up", "down"],
             "outputs": ["mo"], "attributes": {"top_k": 2, "shared": 1}},
            {"name": "qz", "op": "quantize", "inputs": ["mo"], "outputs": ["qz"],
             "attributes": {"dtype": "int8", "group": 32}},
            {"name": "dq", "op": "dequantize", "inputs": ["qz"], "outputs": ["dq"]},
            {"name": "mla_q", "op": "linear", "inputs": ["dq", "wq_mla"], "outputs": ["mq"]},
            {"name": "lat", "op": "kv_read", "outputs": ["lat"],
             "attributes": {"cache": "latent", "shape": [1, 8, 16 + 4]}},
            {"name": "mla", "op": "attention", "inputs": ["mq", "lat", "lat", "kv_b"],
             "outputs": ["mo2"], "attributes": {"heads": 4, "rope_dim": 4}},
            {"name": "gen", "op": "generic", "inputs": ["mo2", "oo"], "outputs": ["g1", "g2"],
             "attributes": {"op_type": "TopK", "shapes": [[1, 8, 2], [1, 8, 2]],
                            "dtype": "i32", "vector_ops": 7}},
            {"name": "gemm", "op": "generic", "inputs": ["mo2"], "outputs": ["gm"],
             "attributes": {"op_type": "Einsum", "shapes": [[1, 8, 32]], "macs": 100,
                            "mac_kind": "linear"}},
            {"name": "head", "op": "lm_head", "inputs": ["dq", "table"], "outputs": ["y"],
             "attributes": {"last": True}},
        ],
        "outputs": ["y", "p", "g1"],
    }
    module = build(graph)
    module.verify()
    names = {op.name for op in ops_of(module)}
    assert names >= {
        "tfm.embedding", "tfm.layernorm", "tfm.rmsnorm", "tfm.linear", "tfm.rope",
        "tfm.kv_read", "tfm.kv_append", "tfm.attention", "tfm.matmul", "tfm.softmax",
        "tfm.concat", "tfm.activation", "tfm.mul", "tfm.moe", "tfm.quantize",
        "tfm.dequantize", "tfm.generic", "tfm.lm_head", "tfm.weight"}
    att = [op for op in ops_of(module) if isinstance(op, g.AttentionOp)]
    assert [op.variant.data.value for op in att] == ["gqa", "mla"]
    assert att[1].dims()[-2:] == (8, 8)  # qk_dim and v_dim inferred from the shapes
    [head] = [op for op in ops_of(module) if isinstance(op, g.LmHeadOp)]
    assert head.result.type.get_shape() == (1, 1, 50)
    gemm = [op for op in ops_of(module) if isinstance(op, g.GenericOp)][-1]
    assert gemm.work().linear_macs == gemm.work().macs == 100
    [qz] = [op for op in ops_of(module) if isinstance(op, g.QuantizeOp)]
    assert str(qz.result.type) == "tensor<1x8x32xi8>"


def test_moe_counts_active_experts() -> None:
    d, f, e = 16, 8, 6
    graph = {
        "inputs": [{"name": "x", "shape": [1, 4, d]}],
        "weights": [{"name": "r", "shape": [d, e]}, {"name": "g", "shape": [e, d, f]},
                    {"name": "u", "shape": [e, d, f]}, {"name": "w", "shape": [e, f, d]}],
        "nodes": [{"name": "m", "op": "moe", "inputs": ["x", "r", "g", "u", "w"],
                   "outputs": ["y"], "attributes": {"top_k": 2}, "layer": 0,
                   "block": "mlp"}],
        "outputs": ["y"],
    }
    fig = figures(build(graph))["prefill"]
    assert fig["linear_macs"] == 4 * (d * e + 2 * 3 * d * f)
    assert fig["parameters"] == d * e + 3 * e * d * f
