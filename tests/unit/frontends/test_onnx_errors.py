"""Bad ONNX input: one MeshcError that names the file and the node, never a traceback;
through the CLI, exit code 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from meshc.errors import MeshcError
from meshc.frontends.onnx import load

FIXTURES = Path(__file__).parents[2] / "fixtures" / "onnx"
LLAMA = FIXTURES / "llama_dynamo_op23.onnx"


def _f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _model(nodes, inputs=None, outputs=None, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs or [_f32("x", [2, 8])],
                              outputs or [_f32("y", [2, 8])], initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _write(tmp_path: Path, data: bytes | onnx.ModelProto) -> Path:
    path = tmp_path / "bad.onnx"
    path.write_bytes(data if isinstance(data, bytes) else data.SerializeToString())
    return path


def _error(path: Path, dims: dict[str, int] | None = None) -> MeshcError:
    with pytest.raises(MeshcError) as info:
        load(path, dims or {})
    err = info.value
    assert err.file == str(path)
    return err


def test_truncated_file(tmp_path):
    data = LLAMA.read_bytes()
    err = _error(_write(tmp_path, data[: len(data) // 2]))
    assert "truncated" in err.message


def test_bytes_that_are_not_onnx(tmp_path):
    err = _error(_write(tmp_path, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4))
    assert "not" in err.message and "ONNX" in err.message
    err = _error(_write(tmp_path, b'{"graph": {"nodes": []}}'))
    assert "ONNX" in err.message


def test_empty_file_and_model_without_graph(tmp_path):
    assert "empty" in _error(_write(tmp_path, b"")).message
    err = _error(_write(tmp_path, onnx.ModelProto(ir_version=9)))
    assert "no graph" in err.message


def test_missing_file(tmp_path):
    err = _error(tmp_path / "absent.onnx")
    assert "no such ONNX model" in err.message


def test_unknown_op_names_the_op_and_the_node(tmp_path):
    m = _model([helper.make_node("FancyAttention", ["x"], ["y"], name="layer0/fancy")])
    err = _error(_write(tmp_path, m))
    assert "unknown op 'FancyAttention'" in err.message
    assert err.where == "node 'layer0/fancy' (FancyAttention)"


def test_op_of_another_domain(tmp_path):
    m = _model([helper.make_node("SkipLayerNormalization", ["x"], ["y"], name="sln",
                                 domain="com.microsoft")])
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    err = _error(_write(tmp_path, m))
    assert "com.microsoft" in err.message and "SkipLayerNormalization" in err.message
    assert "sln" in err.where


def test_dangling_input_name(tmp_path):
    m = _model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add")])
    err = _error(_write(tmp_path, m))
    assert "'ghost'" in err.message and "dangling" in err.message
    assert err.where == "node 'add' (Add)"


def test_cycle(tmp_path):
    m = _model([helper.make_node("Add", ["x", "b"], ["a"], name="first"),
                helper.make_node("Relu", ["a"], ["b"], name="second"),
                helper.make_node("Identity", ["a"], ["y"], name="out")])
    err = _error(_write(tmp_path, m))
    assert "cycle" in err.message
    assert "'first'" in err.message and "'second'" in err.message


def test_value_defined_twice(tmp_path):
    m = _model([helper.make_node("Relu", ["x"], ["y"], name="a"),
                helper.make_node("Sigmoid", ["x"], ["y"], name="b")])
    err = _error(_write(tmp_path, m))
    assert "defined twice" in err.message


def test_output_nobody_produces(tmp_path):
    m = _model([helper.make_node("Relu", ["x"], ["z"], name="a")])
    assert "'y'" in _error(_write(tmp_path, m)).message


def test_control_flow(tmp_path):
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "b", [],
                               [_f32("t", [2, 8])])
    m = _model([helper.make_node("If", ["c"], ["y"], name="branchy", then_branch=branch,
                                 else_branch=branch)],
               inputs=[_f32("x", [2, 8]), helper.make_tensor_value_info("c", TensorProto.BOOL,
                                                                        [])])
    err = _error(_write(tmp_path, m))
    assert "control flow" in err.message and "branchy" in err.where


def test_unbound_dims_are_all_listed():
    err = _error(LLAMA)
    assert "batch" in err.message and "seq" in err.message
    assert err.hint is not None and "--dim batch=" in err.hint and "--dim seq=" in err.hint
    err = _error(LLAMA, {"batch": 1})
    assert "seq" in err.message and "batch (" not in err.message


def test_unknown_and_bad_dim_values():
    err = _error(LLAMA, {"batch": 1, "seq": 8, "sequence": 9})
    assert "'sequence'" in err.message and "batch, seq" in err.message
    err = _error(LLAMA, {"batch": 1, "seq": 0})
    assert "positive" in err.message


def test_shapes_that_do_not_fit_name_the_node(tmp_path):
    w = numpy_helper.from_array(np.ones((7, 4), np.float32), "w")
    m = _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")], inits=[w],
               outputs=[_f32("y", [2, 4])])
    err = _error(_write(tmp_path, m))
    assert err.where == "node 'proj' (MatMul)" and "inner dimensions" in err.message
    shape = numpy_helper.from_array(np.array([3, 5], np.int64), "shape")
    m = _model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="view")],
               inits=[shape])
    err = _error(_write(tmp_path, m))
    assert err.where == "node 'view' (Reshape)" and "cannot reshape" in err.message


def test_data_dependent_shape(tmp_path):
    m = _model([helper.make_node("NonZero", ["x"], ["y"], name="nz")],
               outputs=[helper.make_tensor_value_info("y", TensorProto.INT64, [2, None])])
    err = _error(_write(tmp_path, m))
    assert "depends on the data" in err.message and "nz" in err.where


def test_malformed_initializer(tmp_path):
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[8, 8],
                    raw_data=np.ones(3, np.float32).tobytes())
    w2 = TensorProto(name="shape", data_type=TensorProto.INT64, dims=[2],
                     raw_data=np.ones(1, np.int64).tobytes())
    # a weight's length is checked although its values are never needed
    m = _model([helper.make_node("Reshape", ["x", "shape"], ["y"])], inits=[w])
    m.graph.initializer.append(numpy_helper.from_array(np.array([2, 8], np.int64), "shape"))
    err = _error(_write(tmp_path, m))
    assert err.message \
        == "initializer 'w' of shape [8, 8] (FLOAT) stores 12 bytes where its shape needs 256"
    m = _model([helper.make_node("Reshape", ["x", "shape"], ["y"])], inits=[w2])
    assert "'shape'" in _error(_write(tmp_path, m)).message


def test_cli_exit_code_2_and_one_line(tmp_path):
    from meshc.cli import main

    path = _write(tmp_path, b"definitely not onnx")
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert str(path) in result.output and "ONNX" in result.output
