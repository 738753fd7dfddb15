"""Initializers that store no data at all (Stream's swiglu.onnx) are read like external ones:
a weight that gives only its shape and type, and an error naming it only where meshc needs its
values. Data of the wrong, non-zero length stays an error (test_onnx_hostile.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from meshc.errors import MeshcError
from meshc.frontends.onnx import load
from meshc.frontends.onnx.tensors import has_no_data, inline_array, is_shape_only
from meshc.ir.summary import inspect_module


def _f(name: str, shape: list[int], dtype: int = TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def _write(path: Path, nodes, inits, x=(2, 8), y=(2, 4), dtype: int = TensorProto.FLOAT) -> Path:
    graph = helper.make_graph(nodes, "g", [_f("x", list(x), dtype)], [_f("y", list(y), dtype)],
                              initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(m.SerializeToString())
    return path


def _shape_only(name: str, dims: list[int], dtype: int = TensorProto.FLOAT) -> TensorProto:
    return TensorProto(name=name, data_type=dtype, dims=dims)


def test_what_counts_as_shape_only() -> None:
    assert has_no_data(_shape_only("w", [8, 4])) and is_shape_only(_shape_only("w", [8, 4]))
    assert has_no_data(_shape_only("s", [2], TensorProto.INT64))
    empty_raw = _shape_only("w", [8, 4])
    empty_raw.raw_data = b""  # present but empty: still no data
    assert has_no_data(empty_raw)
    assert not has_no_data(_shape_only("e", [0, 4]))  # no elements: complete with no data
    assert inline_array(_shape_only("e", [0, 4]), "e").shape == (0, 4)
    full = numpy_helper.from_array(np.ones((8, 4), np.float32), "w")
    assert not is_shape_only(full) and inline_array(full, "w") is not None
    assert inline_array(_shape_only("w", [8, 4]), "initializer 'w'") is None


@pytest.mark.parametrize("dtype", [TensorProto.FLOAT, TensorProto.BFLOAT16])
def test_shape_only_weights_import_with_their_shape(tmp_path: Path, dtype: int) -> None:
    path = _write(tmp_path / "m.onnx", [helper.make_node("MatMul", ["x", "w"], ["y"])],
                  [_shape_only("w", [8, 4], dtype)], dtype=dtype)
    s = inspect_module(load(path, {}))["phases"]["graph"]
    assert (s["macs"], s["parameters"]) == (2 * 8 * 4, 32)


def test_a_shape_only_value_that_shapes_the_graph_is_named(tmp_path: Path) -> None:
    nodes = [helper.make_node("Reshape", ["x", "s"], ["t"], name="view"),
             helper.make_node("Relu", ["t"], ["y"])]  # t's shape is declared nowhere
    path = _write(tmp_path / "m.onnx", nodes, [_shape_only("s", [2], TensorProto.INT64)],
                  y=(4, 4))
    with pytest.raises(MeshcError) as info:
        load(path, {})
    e = info.value
    assert e.file == str(path) and e.where == "node 'view' (Reshape)"
    assert "initializer 's'" in e.message and "stores only its shape and type" in e.message


def test_a_shape_only_constant_node_is_named(tmp_path: Path) -> None:
    value = _shape_only("v", [2], TensorProto.INT64)
    nodes = [helper.make_node("Constant", [], ["s"], name="k", value=value),
             helper.make_node("Reshape", ["x", "s"], ["y"])]
    with pytest.raises(MeshcError) as info:
        load(_write(tmp_path / "m.onnx", nodes, [], y=(4, 4)), {})
    assert info.value.where == "node 'k' (Constant)"
    assert "stores only its shape and type" in info.value.message


def test_wrong_nonzero_data_is_still_refused(tmp_path: Path) -> None:
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[8, 4], float_data=[1.0])
    path = _write(tmp_path / "m.onnx", [helper.make_node("MatMul", ["x", "w"], ["y"])], [w])
    with pytest.raises(MeshcError, match=r"initializer 'w' of shape \[8, 4\] .* stores 1 values"):
        load(path, {})
