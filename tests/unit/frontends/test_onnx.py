"""ONNX frontend on real exporter output (tests/fixtures/onnx, made by
scripts/make_onnx_fixtures.py with torch 2.13) and on small graphs built here.

The MAC count the importer reports is checked against two independent counts: one done
here with the onnx package alone (the model is run by onnx's reference evaluator and every
MatMul/Gemm/Einsum/Attention is counted from the shapes it actually sees), and one by hand
from the transformers config (manifest.json)."""

from __future__ import annotations

import json
from math import prod
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from meshc.frontends.onnx import load, load_with_info
from meshc.frontends.onnx.dims import parse
from meshc.ir import graph as g
from meshc.ir.summary import inspect_module

FIXTURES = Path(__file__).parents[2] / "fixtures" / "onnx"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
NAMES = sorted(MANIFEST)


# -- the test's own MAC count: onnx only ---------------------------------------------------

class GatherElements(OpRun):
    """onnx 1.23's reference GatherElements mis-reshapes some inputs; numpy does it right.
    (The evaluator matches replacement ops by class name.)"""

    op_domain = ""

    def _run(self, data, indices, axis=None):  # type: ignore[override]
        axis = axis or 0
        indices = np.where(indices < 0, indices + data.shape[axis], indices)
        return (np.take_along_axis(data, indices, axis=axis),)


def _feeds(model: onnx.ModelProto, dims: dict[str, int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds = {}
    for i in model.graph.input:
        t = i.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else eval(d.dim_param, {}, dims)
                 for d in t.shape.dim]
        if t.elem_type == TensorProto.INT64:
            if "mask" in i.name:
                feeds[i.name] = np.ones(shape, np.int64)
            elif "position" in i.name:
                feeds[i.name] = np.full(shape, dims.get("past_seq", 0), np.int64)
            else:
                feeds[i.name] = rng.integers(0, 100, shape).astype(np.int64)
        else:
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def reference_macs(path: Path, dims: dict[str, int]) -> int:
    """Runs the model and counts every matrix multiply from the shapes it sees."""
    model = onnx.load(str(path))
    mm = [n for n in model.graph.node if n.op_type in ("MatMul", "Gemm", "Einsum",
                                                        "Attention")]
    have = {o.name for o in model.graph.output} | {t.name for t in model.graph.initializer}
    for name in dict.fromkeys(x for n in mm for x in [*n.input, *n.output[:1]] if x):
        if name not in have:
            model.graph.output.append(helper.make_empty_tensor_value_info(name))
    names = [o.name for o in model.graph.output]
    run = ReferenceEvaluator(model, new_ops=[GatherElements])
    seen = dict(zip(names, run.run(None, _feeds(model, dims)), strict=True))
    seen.update({t.name: numpy_helper.to_array(t) for t in model.graph.initializer})
    total = 0
    for n in mm:
        a, b = seen[n.input[0]].shape, seen[n.input[1]].shape
        if n.op_type == "MatMul":
            total += prod(seen[n.output[0]].shape) * a[-1]
        elif n.op_type == "Gemm":
            trans_a = any(x.name == "transA" and x.i for x in n.attribute)
            total += prod(seen[n.output[0]].shape) * (a[0] if trans_a else a[1])
        elif n.op_type == "Attention":  # 4-D [B, H, L, D]
            v = seen[n.input[2]].shape
            total += a[0] * a[1] * a[2] * b[2] * (a[3] + v[3])
        else:
            raise AssertionError("no Einsum in the fixtures")
    return total


def summary(path: Path, dims: dict[str, int] | None = None) -> dict:
    return inspect_module(load(path, dims or {}), per_op=True)["phases"]["graph"]


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=NAMES)
def imported(request):
    name = request.param
    spec = MANIFEST[name]
    module, layers = load_with_info(FIXTURES / f"{name}.onnx", spec["dims"])
    return name, spec, module, layers


def test_fixture_imports_verifies_one_graph_function(imported):
    name, _, module, _ = imported
    module.verify()
    funcs = list(module.ops)
    assert len(funcs) == 1 and funcs[0].sym_name.data == "graph"
    assert (FIXTURES / f"{name}.onnx").stat().st_size < 1_500_000
    assert set(inspect_module(module)["phases"]) == {"graph"}
    # the IR text round-trips (meshc import FILE.onnx -o x.mlir, then meshc inspect x.mlir)
    from xdsl.parser import Parser

    from meshc.registry import make_context

    again = Parser(make_context(), str(module)).parse_module()
    again.verify()
    assert str(again) == str(module)


def test_fixture_macs_equal_the_reference_count(imported):
    name, spec, module, _ = imported
    s = inspect_module(module)["phases"]["graph"]
    assert s["macs"] == reference_macs(FIXTURES / f"{name}.onnx", spec["dims"])
    assert s["macs"] == spec["hand_macs"]["total"]
    # every MAC is either activation x weight or attention: nothing is left unclassified
    assert s["linear_macs"] + s["attention_macs"] == s["macs"]


def test_fixture_blocks_found_from_the_structure(imported):
    _, spec, module, layers = imported
    assert (layers.count, layers.method) == (spec["blocks"], "structure")
    ops = [op for op in module.walk() if isinstance(op, g.GraphOp)]
    attn = {op.layer_index for op in ops if op.block_name == "attention"}
    mlp = {op.layer_index for op in ops if op.block_name == "mlp"}
    assert attn == mlp == set(range(spec["blocks"]))
    by_block: dict[str, int] = {}
    for op in ops:
        by_block[op.block_name] = by_block.get(op.block_name, 0) + op.work().macs
    hand = spec["hand_macs"]
    assert by_block.get("attention", 0) == hand["attention"]
    assert by_block.get("mlp", 0) == hand["mlp"]
    assert by_block.get("other", 0) == hand["other"]
    # one attention core per layer, in its attention block
    cores = [op for op in ops if isinstance(op, g.AttentionOp | g.SoftmaxOp)
             and op.block_name == "attention"]
    assert sorted(op.layer_index for op in cores) == list(range(spec["blocks"]))


def test_fixture_recognised_ops(imported):
    _, spec, module, _ = imported
    names = {op.name for op in module.walk()}
    assert "tfm.linear" in names and "tfm.weight" in names
    assert names & {"tfm.layernorm", "tfm.rmsnorm"}
    assert "tfm.activation" in names
    if spec["kind"] != "bert":
        assert "tfm.lm_head" in names
    if spec["kind"] in ("llama", "mixtral", "qwen2moe"):
        assert "tfm.rope" in names
    if spec["phase"] == "decode":
        assert "tfm.kv_append" in names and "tfm.kv_read" in names
    if spec["opset"] >= 23 and spec["dynamo"]:
        assert "tfm.attention" in names


def test_same_llama_same_macs_across_exporters_and_opsets():
    prefill = {n: summary(FIXTURES / f"{n}.onnx", MANIFEST[n]["dims"])
               for n in ("llama_ts_op20", "llama_dynamo_op20", "llama_dynamo_op23")}
    assert len({s["macs"] for s in prefill.values()}) == 1
    assert len({s["linear_macs"] for s in prefill.values()}) == 1
    assert len({s["attention_macs"] for s in prefill.values()}) == 1
    assert len({s["parameters"] for s in prefill.values()}) == 1
    decode = {n: summary(FIXTURES / f"{n}.onnx", MANIFEST[n]["dims"])
              for n in ("llama_decode_ts_op17", "llama_decode_dynamo_op23")}
    assert len({s["macs"] for s in decode.values()}) == 1
    assert len({s["kv_cache_bytes"] for s in decode.values()}) == 1


@pytest.mark.parametrize("name", ["llama_ts_op20", "bert_ts_op14", "qwen2moe_ts_op17"])
def test_node_names_tag_blocks_when_the_structure_does_not(name, monkeypatch):
    from meshc.frontends.onnx import blocks

    monkeypatch.setattr(blocks.Tagger, "structure", lambda self: None)
    spec = MANIFEST[name]
    module, layers = load_with_info(FIXTURES / f"{name}.onnx", spec["dims"])
    assert (layers.count, layers.method) == (spec["blocks"], "names")
    by_block: dict[str, int] = {}
    for op in module.walk():
        if isinstance(op, g.GraphOp):
            by_block[op.block_name] = by_block.get(op.block_name, 0) + op.work().macs
    assert {k: by_block.get(k, 0) for k in ("attention", "mlp", "other")} == {
        k: spec["hand_macs"][k] for k in ("attention", "mlp", "other")}
    assert (spec["kind"] == "bert") != any(isinstance(op, g.LmHeadOp) for op in module.walk())


def test_opset23_gqa_attention_reads_the_kv_heads():
    module = load(FIXTURES / "llama_dynamo_op23.onnx", {"batch": 1, "seq": 16})
    attn = [op for op in module.walk() if isinstance(op, g.AttentionOp)]
    assert len(attn) == 2
    assert {(op.variant.data.value, op.dims()[1:3]) for op in attn} == {("gqa", (4, 2))}


def test_symbolic_dims_scale_the_count():
    path = FIXTURES / "llama_dynamo_op20.onnx"
    s = summary(path, {"batch": 2, "seq": 24})
    assert s["macs"] == reference_macs(path, {"batch": 2, "seq": 24})
    decode = FIXTURES / "llama_decode_dynamo_op23.onnx"  # mask is [batch, past_seq + 1]
    s = summary(decode, {"batch": 1, "past_seq": 40})
    assert s["macs"] == reference_macs(decode, {"batch": 1, "past_seq": 40})


def test_moe_expert_matmuls_count_as_linear():
    module = load(FIXTURES / "mixtral_dynamo_op20.onnx", {})
    experts = [op for op in module.walk() if isinstance(op, g.GenericOp)
               and op.macs.value.data > 0]
    assert experts and all(op.mac_kind is not None and op.mac_kind.data == "linear"
                           and op.block_name == "mlp" for op in experts)


def test_external_data_absent_is_never_opened(tmp_path, monkeypatch):
    from onnx import external_data_helper

    # as the dynamo exporter writes it: tensors over 1 KiB in external data, which here
    # names a path that does not exist (a model may name any path; meshc opens none)
    model = onnx.load(str(FIXTURES / "llama_dynamo_op23.onnx"))
    moved = 0
    for t in model.graph.initializer:
        if len(t.raw_data) > 1024:
            size = len(t.raw_data)
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", "/nonexistent/dir/weights.bin"), ("offset", "0"),
                         ("length", str(size))):
                e = t.external_data.add()
                e.key, e.value = k, v
            moved += 1
    assert moved > 10
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())

    def no(*a, **k):
        raise AssertionError("external data must not be loaded")

    monkeypatch.setattr(external_data_helper, "load_external_data_for_model", no)
    monkeypatch.setattr(external_data_helper, "load_external_data_for_tensor", no)
    s = summary(path, {"batch": 1, "seq": 16})
    assert s["macs"] == MANIFEST["llama_dynamo_op23"]["hand_macs"]["total"]
    assert s["parameters"] == MANIFEST["llama_dynamo_op23"]["torch_params"]


def test_partition_pass_runs_on_an_imported_model():
    from meshc import pipelines

    module = load(FIXTURES / "qwen2moe_ts_op17.onnx", {})
    pipelines.apply(module, "lower-quant{weights=bf16 acts=bf16 kv=bf16},"
                            "partition-attn-mlp{policy=disaggregate hw=mesh-4x4}")
    regions = {op.attributes["meshc.region"].data for op in module.walk()
               if isinstance(op, g.GraphOp) and not isinstance(op, g.WeightOp)
               and "meshc.region" in op.attributes}
    assert {"attention", "mlp"} <= regions


# -- small graphs built here ---------------------------------------------------------------------

def _model(nodes, inputs, outputs, inits=(), opset=20, value_info=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits),
                              value_info=list(value_info))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _save(tmp_path: Path, model: onnx.ModelProto, name: str = "m.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


def _f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _w(name, shape, seed=0):
    return numpy_helper.from_array(
        np.random.default_rng(seed).standard_normal(shape).astype(np.float32), name)


def _c(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def _ops(module) -> list:
    return [op for op in module.walk() if isinstance(op, g.GraphOp)]


def test_gelu_erf_and_tanh_decompositions_become_one_activation(tmp_path):
    erf = [helper.make_node("Div", ["x", "sqrt2"], ["a"]), helper.make_node("Erf", ["a"], ["b"]),
           helper.make_node("Add", ["b", "one"], ["c"]), helper.make_node("Mul", ["x", "c"], ["d"]),
           helper.make_node("Mul", ["d", "half"], ["y"])]
    tanh = [helper.make_node("Mul", ["x", "half"], ["h"]),
            helper.make_node("Pow", ["x", "three"], ["p"]),
            helper.make_node("Mul", ["p", "k"], ["q"]), helper.make_node("Add", ["x", "q"], ["r"]),
            helper.make_node("Mul", ["r", "s"], ["t"]), helper.make_node("Tanh", ["t"], ["u"]),
            helper.make_node("Add", ["u", "one"], ["v"]),
            helper.make_node("Mul", ["h", "v"], ["y"])]
    consts = [_c("sqrt2", 2 ** 0.5), _c("one", 1.0), _c("half", 0.5), _c("three", 3.0),
              _c("k", 0.044715), _c("s", (2 / np.pi) ** 0.5)]
    for nodes, kind in ((erf, "gelu"), (tanh, "gelu_tanh")):
        m = _model(nodes, [_f32("x", [1, 4, 8])], [_f32("y", [1, 4, 8])], consts)
        ops = _ops(load(_save(tmp_path, m), {}))
        assert [(op.name, op.kind.data) for op in ops] == [("tfm.activation", kind)]
    # not a GELU: 0.4 instead of 0.5
    bad = [*erf[:4], helper.make_node("Mul", ["d", "wrong"], ["y"])]
    m = _model(bad, [_f32("x", [1, 4, 8])], [_f32("y", [1, 4, 8])],
               [*consts, _c("wrong", 0.4)])
    assert "tfm.activation" not in {op.name for op in _ops(load(_save(tmp_path, m), {}))}


def test_layernorm_and_rmsnorm_decompositions(tmp_path):
    ln = [helper.make_node("ReduceMean", ["x"], ["m"], axes=[-1]),
          helper.make_node("Sub", ["x", "m"], ["d"]), helper.make_node("Pow", ["d", "two"], ["p"]),
          helper.make_node("ReduceMean", ["p"], ["v"], axes=[-1]),
          helper.make_node("Add", ["v", "eps"], ["e"]), helper.make_node("Sqrt", ["e"], ["s"]),
          helper.make_node("Div", ["d", "s"], ["n"]), helper.make_node("Mul", ["n", "gamma"], ["z"]),
          helper.make_node("Add", ["z", "beta"], ["y"])]
    rms = [helper.make_node("Pow", ["x", "two"], ["p"]),
           helper.make_node("ReduceMean", ["p", "axes"], ["v"]),
           helper.make_node("Add", ["v", "eps"], ["e"]), helper.make_node("Sqrt", ["e"], ["s"]),
           helper.make_node("Reciprocal", ["s"], ["r"]), helper.make_node("Mul", ["x", "r"], ["n"]),
           helper.make_node("Mul", ["gamma", "n"], ["y"])]
    inits = [_c("two", 2.0), _c("eps", 1e-5), _w("gamma", [16], 1), _w("beta", [16], 2),
             _c("axes", [-1], np.int64)]
    for nodes, opset, kind in ((ln, 14, "tfm.layernorm"), (rms, 18, "tfm.rmsnorm")):
        m = _model(nodes, [_f32("x", [2, 3, 16])], [_f32("y", [2, 3, 16])], inits, opset)
        ops = _ops(load(_save(tmp_path, m), {}))
        assert [op.name for op in ops if not isinstance(op, g.WeightOp)] == [kind]
        assert sum(op.work().weight_bytes for op in ops) == (16 if "rms" in kind else 32) * 4


def test_gated_silu_mlp_with_biased_gemm(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "wg", "bg"], ["gate"], transB=1),
             helper.make_node("MatMul", ["x", "wu"], ["up0"]),
             helper.make_node("Add", ["up0", "bu"], ["up"]),
             helper.make_node("Sigmoid", ["gate"], ["sg"]),
             helper.make_node("Mul", ["gate", "sg"], ["silu"]),
             helper.make_node("Mul", ["silu", "up"], ["y"])]
    inits = [_w("wg", [32, 8]), _w("bg", [32]), _w("wu", [8, 32]), _w("bu", [32])]
    m = _model(nodes, [_f32("x", [5, 8])], [_f32("y", [5, 32])], inits)
    ops = [op for op in _ops(load(_save(tmp_path, m), {})) if not isinstance(op, g.WeightOp)]
    assert [op.name for op in ops] == ["tfm.linear", "tfm.linear", "tfm.activation"]
    assert all(op.bias is not None for op in ops[:2])
    assert ops[2].kind.data == "silu" and ops[2].up is not None
    assert sum(op.work().macs for op in ops) == 2 * 5 * 8 * 32


def test_fused_attention_3d_gqa_and_with_past(tmp_path):
    b, lq, h, kvh, d = 2, 5, 8, 2, 16
    att = helper.make_node("Attention", ["q", "k", "v"], ["y"], q_num_heads=h,
                           kv_num_heads=kvh, is_causal=1)
    m = _model([att], [_f32("q", [b, lq, h * d]), _f32("k", [b, lq, kvh * d]),
                       _f32("v", [b, lq, kvh * d])], [_f32("y", [b, lq, h * d])], opset=23)
    ops = _ops(load(_save(tmp_path, m), {}))
    assert len(ops) == 1 and isinstance(ops[0], g.AttentionOp)
    assert ops[0].variant.data.value == "gqa" and ops[0].causal is not None
    assert ops[0].work().macs == b * h * lq * lq * 2 * d
    # with a KV cache of 7 past entries: exact MACs over past + new
    att = helper.make_node("Attention", ["q", "k", "v", "", "pk", "pv"], ["y", "ok", "ov"])
    m = _model([att], [_f32("q", [b, h, 1, d]), _f32("k", [b, kvh, 1, d]),
                       _f32("v", [b, kvh, 1, d]), _f32("pk", [b, kvh, 7, d]),
                       _f32("pv", [b, kvh, 7, d])],
               [_f32("y", [b, h, 1, d]), _f32("ok", [b, kvh, 8, d]), _f32("ov", [b, kvh, 8, d])],
               opset=23)
    s = summary(_save(tmp_path, m))
    assert s["macs"] == s["attention_macs"] == b * h * 1 * 8 * 2 * d


def test_matmul_einsum_conv_macs_are_exact(tmp_path):
    nodes = [helper.make_node("MatMul", ["a", "bt"], ["s"]),  # broadcast batch: [2,4,5,8]x[1,4,8,5]
             helper.make_node("Einsum", ["s", "v"], ["o"], equation="bhqk,bhkd->bhqd"),
             helper.make_node("Conv", ["img", "cw"], ["c"], pads=[1, 1, 1, 1])]
    inits = [_w("cw", [6, 3, 3, 3])]
    m = _model(nodes, [_f32("a", [2, 4, 5, 8]), _f32("bt", [1, 4, 8, 5]),
                       _f32("v", [2, 4, 5, 7]), _f32("img", [1, 3, 10, 10])],
               [_f32("o", [2, 4, 5, 7]), _f32("c", [1, 6, 10, 10])], inits, opset=17)
    s = summary(_save(tmp_path, m))
    assert s["macs"] == 2 * 4 * 5 * 5 * 8 + 2 * 4 * 5 * 5 * 7 + 6 * 100 * 27
    assert s["linear_macs"] == 6 * 100 * 27


def test_dim_expressions():
    env = {"seq": 16, "past_seq": 15, "s0": 7}
    assert parse("past_seq + 1").value(env) == 16
    assert parse("Min(128, seq)").value(env) == 16
    assert parse("2*s0").value(env) == 14
    assert parse("(s0 + 1)//2").value(env) == 4
    assert parse("CeilToInt(IntTrueDiv(s0, 2))").value(env) == 4
    assert parse("past_seq + 1").names == {"past_seq"}
    # a name that is not an expression is one name
    assert parse("Concatpresent.0.key_dim_2").names == {"Concatpresent.0.key_dim_2"}


def test_bench_sized_graph_imports_quickly(tmp_path):
    """A 6-layer BERT-base (hidden 768) graph of ~300 nodes, weights in absent external
    data: the importer never needs them."""
    import importlib.util
    import time

    spec = importlib.util.spec_from_file_location(
        "bench_onnx", Path(__file__).parents[3] / "bench" / "bench_onnx.py")
    bench = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(bench)
    path = bench.bert_base(tmp_path / "bert.onnx", layers=6, seq=128)
    t = time.perf_counter()
    module, layers = load_with_info(path, {})
    elapsed = time.perf_counter() - t
    s = inspect_module(module)["phases"]["graph"]
    assert s["macs"] == bench.bert_base_macs(layers=6, seq=128)
    assert (layers.count, layers.method) == (6, "structure")
    assert elapsed < 5.0  # the goal (bench) is < 1 s; leave room for slow CI machines
