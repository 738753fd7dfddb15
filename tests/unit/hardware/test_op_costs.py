"""The one table of per-element vector work, against counts worked by hand."""

from __future__ import annotations

import pytest

from meshc.errors import MeshcError
from meshc.hardware import load_hardware
from meshc.hardware.cost import vector_cycles, vector_energy_pj
from meshc.hardware.op_costs import ACTIVATIONS, OP_COSTS, per_element, vector_ops
from meshc.ir.work import ACTIVATION_OPS, SOFTMAX_OPS


def test_silu_is_exp_add_reciprocal_mul_and_dearer_than_relu() -> None:
    hw = load_hardware("mesh-4x4")
    c = hw.core_types["mlp"]  # 16 lanes, 2 transcendental per cycle
    relu, silu = vector_ops("relu", 1024), vector_ops("silu", 1024)
    assert (int(relu[0]), int(relu[1])) == (1024, 0)
    assert (int(silu[0]), int(silu[1])) == (2048, 2048)  # +1, *x; exp, reciprocal
    assert int(vector_cycles(*relu, c)) == 1024 // 16  # 64
    assert int(vector_cycles(*silu, c)) == 2048 // 16 + 2048 // 2  # 128 + 1024

    def total(kind: str) -> float:
        return sum(float(v) for v in vector_energy_pj(*vector_ops(kind, 1024), hw).values())
    assert total("relu") == pytest.approx(1024 * 0.845)
    assert total("silu") == pytest.approx(2048 * 0.845 + 2048 * 3.8)
    for kind in ("silu", "gelu", "gelu_tanh", "sigmoid"):
        assert total(kind) > total("relu")


def test_norms_pay_one_rsqrt_a_row() -> None:
    # RMSNorm of 2 rows of 8: 4 plain per element, 1 rsqrt per row
    assert tuple(int(x) for x in vector_ops("rmsnorm", 16, rows=2)) == (64, 2)
    assert tuple(int(x) for x in vector_ops("layernorm", 16, rows=2)) == (112, 2)
    assert tuple(int(x) for x in vector_ops("gelu", 16, rows=2)) == (64, 16)  # no row work


def test_the_ir_asks_the_one_table() -> None:
    assert set(ACTIVATION_OPS) == set(ACTIVATIONS)
    assert all(ACTIVATION_OPS[k] == OP_COSTS[k] for k in ACTIVATIONS)
    assert SOFTMAX_OPS == OP_COSTS["softmax"] == (4, 1)


def test_unknown_kind_is_one_line_error() -> None:
    with pytest.raises(MeshcError, match="unknown op class 'swish2'"):
        per_element("swish2")
