"""ONNX models: broken files, symbolic-dimension tricks, and external data that must never be
opened (its target is a FIFO: a run that opens it blocks and hits the wall-clock cap)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from hostile_case import EITHER, OK, USER_ERROR, Case, Dir, Fifo, Link
from hostile_gen import FIXTURES, TINY_YAML, compile_fast
from onnx import TensorProto, helper, numpy_helper

M = "m.onnx"
INSPECT = ("inspect", M, "--seq", "8")
GPT2 = (FIXTURES / "onnx" / "gpt2_ts_op14.onnx").read_bytes()


def _model(nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto],
           x_dims: list[int | str] | None = None, opset: int = 17, **kw: object) -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_dims or ["batch", "seq", 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "g", [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], **kw)
    return m.SerializeToString()


def _w(dims: tuple[int, ...] = (16, 32)) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(dims, np.float32), "w")


def _matmul(x_dims: list[int | str] | None = None, name: str = "mm", op: str = "MatMul") -> bytes:
    return _model([helper.make_node(op, ["x", "w"], ["y"], name=name)], [_w()], x_dims)


def _external(name: str, dims: list[int], dtype: int, location: str,
              length: str = "") -> onnx.TensorProto:
    t = onnx.TensorProto(name=name, data_type=dtype, dims=dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", length or "64")):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def _ext_weight(location: str | Callable[[Path], str], length: str = "") -> Callable[[Path], bytes]:
    def build(work: Path) -> bytes:
        loc = location(work) if callable(location) else location
        w = _external("w", [16, 32], TensorProto.FLOAT, loc, length)
        return _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [w])
    return build


def _ext_reshape(work: Path) -> bytes:
    shape = _external("shape", [3], TensorProto.INT64, "../secret/shape.bin")
    return _model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs")], [shape])


def _recursive_function() -> bytes:
    f = helper.make_function("local", "f", ["a"], ["b"],
                             [helper.make_node("f", ["a"], ["b"], domain="local")],
                             [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    nodes = [helper.make_node("f", ["x"], ["y"], name="call", domain="local")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph(nodes, "g", [x], [y]), functions=[f],
                          opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    return m.SerializeToString()


def _many_ops(count: int = 60_000) -> bytes:
    nodes = [helper.make_node("Relu", [f"v{i}" if i else "x"], [f"v{i + 1}" if i + 1 < count else "y"])
             for i in range(count)]
    return _model(nodes, [])


def _bad(name: str, content: object, *mentions: str, wall: float = 25.0) -> Case:
    return Case(f"onnx-{name}", INSPECT, USER_ERROR, {M: content}, (M, *mentions), wall=wall)  # type: ignore[dict-item]


def cases() -> list[Case]:
    cycle = [helper.make_node("Relu", ["x", "b"], ["a"], name="r1"),
             helper.make_node("Relu", ["a"], ["b"], name="r2"),
             helper.make_node("Identity", ["b"], ["y"], name="out")]
    fifo_secret = {"../secret/w.bin": Fifo(), "../secret/shape.bin": Fifo()}
    return [
        _bad("truncated-half", GPT2[: len(GPT2) // 2]),
        _bad("truncated-10-bytes", GPT2[:10]),
        _bad("garbage", np.random.default_rng(0).bytes(4096)),
        _bad("empty", b""),
        _bad("yaml-text", TINY_YAML),
        _bad("fifo", Fifo(), wall=8.0),
        _bad("dev-zero", Link("/dev/zero"), wall=8.0),
        _bad("directory", Dir()),
        _bad("dim-param-power", _matmul(["batch", "9**9**9", 16]), "9**9**9"),
        _bad("dim-param-div-zero", _matmul(["batch", "seq/0", 16]), "seq/0"),
        _bad("dim-2p62", _matmul([1, 2**62, 16]), "--limit"),
        _bad("dim-negative", _matmul([1, -5, 16])),
        _bad("init-dims-2p62-no-data", _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                                              [onnx.TensorProto(name="w", data_type=1, dims=[2**62, 32])])),
        _bad("unknown-op", _matmul(name="weird", op="FooBar"), "weird"),
        _bad("unknown-op-newline-name", _matmul(name="we\nird", op="FooBar")),
        _bad("cycle", _model(cycle, [])),
        _bad("dangling-input", _model([helper.make_node("MatMul", ["x", "nope"], ["y"], name="mm")], [])),
        _bad("shape-mismatch", _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                                      [_w((32, 8))]), "mm"),
        _bad("opset-9999", _model(
            [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [_w()], opset=9999)),
        _bad("custom-domain", _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm",
                                                       domain="com.evil")], [_w()]), "mm"),
        _bad("recursive-function", _recursive_function()),
        _bad("too-many-ops", lambda _: _many_ops(), "--limit"),
        Case("onnx-ext-needed-value", INSPECT, USER_ERROR, {M: _ext_reshape, **fifo_secret}, (M, "rs"),
             wall=8.0),
        Case("onnx-ext-relative", INSPECT, OK, {M: _ext_weight("../secret/w.bin"), **fifo_secret},
             wall=8.0),
        Case("onnx-ext-absolute", INSPECT, OK,
             {M: _ext_weight(lambda w: str(w.parent / "secret" / "w.bin")), **fifo_secret}, wall=8.0),
        Case("onnx-ext-huge-length", INSPECT, EITHER,
             {M: _ext_weight("../secret/w.bin", "9" * 30), **fifo_secret}, (M,), wall=8.0),
        Case("onnx-ext-compile", compile_fast(M, "--seq", "8", prefill=True), OK,
             {M: _ext_weight("../secret/w.bin"), **fifo_secret}, out="out", wall=8.0,
             produces=("out/report.md",)),
        Case("onnx-ok-matmul", INSPECT, OK, {M: _matmul()}),
        Case("onnx-ok-fixture", ("inspect", "gpt2.onnx"), OK, {"gpt2.onnx": GPT2}),
    ]
