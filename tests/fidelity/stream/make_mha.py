"""Write mha.onnx: the form of Stream 2.1.1's `build_attention_block(AttentionConfig())` (its
model catalog; tests/fidelity/README.md section 3), which Stream ran as a Workload object, not a
file: batch 1, 8 heads, seq 128, d_head 64, d_model 512, bf16, weights as graph inputs (as in
attention_head.onnx). Q/K/V projections, per-head scores, Softmax, context, output projection:
4 x 128x512x512 + 2 x 8 x 128x128x64 = 150,994,944 MACs, the fixture's total_mac_ops.
Deterministic; run from the repository root: `.venv/bin/python tests/fidelity/stream/make_mha.py`."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

SEQ, D_MODEL, HEADS = 128, 512, 8
D_HEAD = D_MODEL // HEADS
BF16 = TensorProto.BFLOAT16


def build() -> onnx.ModelProto:
    def t(name: str, shape: list[int]) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, BF16, shape)

    heads = helper.make_tensor("heads", TensorProto.INT64, [3], [SEQ, HEADS, D_HEAD])
    flat = helper.make_tensor("flat", TensorProto.INT64, [2], [SEQ, D_MODEL])
    nodes = [helper.make_node("MatMul", ["I", f"w{x}"], [x]) for x in "QKV"]
    for x in "QKV":
        nodes.append(helper.make_node("Reshape", [x, "heads"], [f"{x}h"]))
    nodes += [
        helper.make_node("Transpose", ["Qh"], ["Qt"], perm=[1, 0, 2]),   # [H, S, Dh]
        helper.make_node("Transpose", ["Kh"], ["Kt"], perm=[1, 2, 0]),   # [H, Dh, S]
        helper.make_node("Transpose", ["Vh"], ["Vt"], perm=[1, 0, 2]),   # [H, S, Dh]
        helper.make_node("MatMul", ["Qt", "Kt"], ["scores"]),           # [H, S, S]
        helper.make_node("Softmax", ["scores"], ["attn"], axis=-1),
        helper.make_node("MatMul", ["attn", "Vt"], ["ctx"]),            # [H, S, Dh]
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], perm=[1, 0, 2]),
        helper.make_node("Reshape", ["ctx_t", "flat"], ["ctx_flat"]),
        helper.make_node("MatMul", ["ctx_flat", "wO"], ["Y"]),
    ]
    inputs = [t("I", [SEQ, D_MODEL])] + [t(f"w{x}", [D_MODEL, D_MODEL]) for x in "QKVO"]
    graph = helper.make_graph(nodes, "mha", inputs, [t("Y", [SEQ, D_MODEL])],
                              initializer=[heads, flat])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="meshc tests/fidelity/stream/make_mha.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


if __name__ == "__main__":
    onnx.save(build(), Path(__file__).with_name("mha.onnx"))
