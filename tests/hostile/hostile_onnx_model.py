"""A valid one-MatMul ONNX model (x[batch, seq, 16] @ w[16, 32]) for cases that need one."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def matmul_onnx() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.ones((16, 32), np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g", [x], [y], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


MATMUL_ONNX = matmul_onnx()
