"""ONNX import time: each fixture of tests/fixtures/onnx, and a 6-layer BERT-base sized
graph (hidden 768, 12 heads, FFN 3072, seq 128; ~320 nodes) built here with onnx.helper in
the TorchScript exporter's decomposed form, its weights in external data that does not
exist (the importer never reads it). Goal: under 1 s for a 300-node graph.

    .venv/bin/python bench/bench_onnx.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "onnx"


def _external(name: str, shape: list[int], offset: int) -> tuple[TensorProto, int]:
    """A float initializer whose data lives in `weights.bin`, which is never written."""
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=shape,
                    data_location=TensorProto.EXTERNAL)
    size = 4
    for d in shape:
        size *= d
    for k, v in (("location", "weights.bin"), ("offset", str(offset)), ("length", str(size))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t, offset + size


def bert_base(path: Path, layers: int = 6, seq: int = 128, hidden: int = 768, heads: int = 12,
              ffn: int = 3072, vocab: int = 30522) -> Path:
    """Writes a BERT-base encoder graph as the TorchScript exporter decomposes it (opset 14:
    MatMul + bias Add, Reshape/Transpose heads, Softmax attention, decomposed LayerNorm and
    erf GELU)."""
    nodes: list[onnx.NodeProto] = []
    inits: list[TensorProto] = []
    offset = 0
    hd = hidden // heads

    def weight(name: str, shape: list[int]) -> str:
        nonlocal offset
        t, offset = _external(name, shape, offset)
        inits.append(t)
        return name

    def const(name: str, value, dtype=None) -> str:
        import numpy as np

        inits.append(numpy_helper.from_array(np.array(value, dtype=dtype or np.float32), name))
        return name

    def node(op: str, ins: list[str], out: str, **kw) -> str:
        nodes.append(helper.make_node(op, ins, [out], name=f"/{out}", **kw))
        return out

    def layernorm(x: str, p: str) -> str:
        m = node("ReduceMean", [x], f"{p}/mean", axes=[-1])
        d = node("Sub", [x, m], f"{p}/sub")
        sq = node("Pow", [d, "two"], f"{p}/pow")
        v = node("ReduceMean", [sq], f"{p}/var", axes=[-1])
        e = node("Add", [v, "eps"], f"{p}/add_eps")
        s = node("Sqrt", [e], f"{p}/sqrt")
        n = node("Div", [d, s], f"{p}/div")
        y = node("Mul", [n, weight(f"{p}.weight", [hidden])], f"{p}/scale")
        return node("Add", [y, weight(f"{p}.bias", [hidden])], f"{p}/shift")

    def linear(x: str, p: str, k: int, n: int) -> str:
        y = node("MatMul", [x, weight(f"{p}.weight", [k, n])], f"{p}/MatMul")
        return node("Add", [y, weight(f"{p}.bias", [n])], f"{p}/Add")

    const("two", 2.0)
    const("eps", 1e-12)
    const("one", 1.0)
    const("half", 0.5)
    const("sqrt2", 2 ** 0.5)
    const("scale", hd ** 0.5)
    const("neg", -10000.0)
    const("heads_shape", [1, seq, heads, hd], "int64")
    const("merge_shape", [1, seq, hidden], "int64")
    const("positions", [list(range(seq))], "int64")
    const("types", [[0] * seq], "int64")
    const("mask_axes", [1, 2], "int64")

    x = node("Gather", [weight("embeddings.word", [vocab, hidden]), "input_ids"], "emb/word")
    pos = node("Gather", [weight("embeddings.position", [512, hidden]), "positions"], "emb/pos")
    typ = node("Gather", [weight("embeddings.type", [2, hidden]), "types"], "emb/type")
    x = node("Add", [x, typ], "emb/add")
    x = node("Add", [x, pos], "emb/add_1")
    x = layernorm(x, "embeddings.LayerNorm")
    m = node("Unsqueeze", ["attention_mask", "mask_axes"], "mask/unsqueeze")
    m = node("Cast", [m], "mask/cast", to=TensorProto.FLOAT)
    m = node("Sub", ["one", m], "mask/sub")
    mask = node("Mul", [m, "neg"], "mask/mul")
    for i in range(layers):
        p = f"encoder.layer.{i}"
        heads_of = {}
        for name, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]),
                           ("value", [0, 2, 1, 3])):
            y = linear(x, f"{p}.attention.self.{name}", hidden, hidden)
            y = node("Reshape", [y, "heads_shape"], f"{p}/attention/{name}/Reshape")
            heads_of[name] = node("Transpose", [y], f"{p}/attention/{name}/Transpose", perm=perm)
        s = node("MatMul", [heads_of["query"], heads_of["key"]], f"{p}/attention/scores")
        s = node("Div", [s, "scale"], f"{p}/attention/Div")
        s = node("Add", [s, mask], f"{p}/attention/mask")
        s = node("Softmax", [s], f"{p}/attention/Softmax", axis=-1)
        c = node("MatMul", [s, heads_of["value"]], f"{p}/attention/context")
        c = node("Transpose", [c], f"{p}/attention/context/Transpose", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, "merge_shape"], f"{p}/attention/context/Reshape")
        a = linear(c, f"{p}.attention.output.dense", hidden, hidden)
        a = node("Add", [a, x], f"{p}/attention/output/Add")
        x = layernorm(a, f"{p}.attention.output.LayerNorm")
        h = linear(x, f"{p}.intermediate.dense", hidden, ffn)
        e = node("Div", [h, "sqrt2"], f"{p}/gelu/Div")
        e = node("Erf", [e], f"{p}/gelu/Erf")
        e = node("Add", [e, "one"], f"{p}/gelu/Add")
        e = node("Mul", [h, e], f"{p}/gelu/Mul")
        h = node("Mul", [e, "half"], f"{p}/gelu/Mul_1")
        o = linear(h, f"{p}.output.dense", ffn, hidden)
        o = node("Add", [o, x], f"{p}/output/Add")
        x = layernorm(o, f"{p}.output.LayerNorm")
    graph = helper.make_graph(
        nodes, "bert_base",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, seq]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, seq])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, seq, hidden])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    path.write_bytes(model.SerializeToString())
    return path


def bert_base_macs(layers: int = 6, seq: int = 128, hidden: int = 768,
                   ffn: int = 3072) -> int:
    return layers * (seq * (4 * hidden * hidden + 2 * hidden * ffn) + 2 * seq * seq * hidden)


def _time(path: Path, dims: dict[str, int], repeat: int) -> tuple[float, float, int]:
    from meshc.frontends.onnx import load
    from meshc.ir.summary import inspect_module

    times = []
    module = None
    for _ in range(repeat):
        t = time.perf_counter()
        module = load(path, dims)
        times.append(time.perf_counter() - t)
    assert module is not None
    ops = inspect_module(module)["phases"]["graph"]["ops"]
    return statistics.median(times), min(times), ops


def _stages(path: Path) -> dict[str, float]:
    from meshc.frontends.onnx.blocks import tag_units
    from meshc.frontends.onnx.emit import Emitter
    from meshc.frontends.onnx.fuse import Fuser
    from meshc.frontends.onnx.infer import Inference
    from meshc.frontends.onnx.reader import build_graph, read_model

    out: dict[str, float] = {}
    t = time.perf_counter()
    graph = build_graph(read_model(path), str(path))
    out["read+check"] = time.perf_counter() - t
    t = time.perf_counter()
    vals = Inference(graph, {}).run()
    out["shapes"] = time.perf_counter() - t
    t = time.perf_counter()
    fuser = Fuser(graph, vals)
    units = fuser.run()
    out["fuse"] = time.perf_counter() - t
    t = time.perf_counter()
    tag_units(units, fuser, [i.name for i in graph.inputs])
    out["blocks"] = time.perf_counter() - t
    t = time.perf_counter()
    Emitter(graph, vals, units, fuser).run()
    out["emit+verify"] = time.perf_counter() - t
    return out


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    print(f"{'model':32s} {'nodes':>6s} {'tfm ops':>8s} {'median s':>9s} {'min s':>7s}")
    for name, spec in sorted(manifest.items()):
        path = FIXTURES / f"{name}.onnx"
        med, best, ops = _time(path, spec["dims"], repeat)
        print(f"{name:32s} {spec['nodes']:6d} {ops:8d} {med:9.3f} {best:7.3f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = bert_base(Path(tmp) / "bert_base.onnx")
        nodes = len(onnx.load(str(path), load_external_data=False).graph.node)
        med, best, ops = _time(path, {}, repeat)
        print(f"{'bert-base 6 layers, seq 128':32s} {nodes:6d} {ops:8d} {med:9.3f} {best:7.3f}"
              f"   (goal < 1 s for ~300 nodes: {'met' if med < 1.0 else 'NOT met'})")
        stages = _stages(path)
        print("  stages: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in stages.items()))


if __name__ == "__main__":
    main()
