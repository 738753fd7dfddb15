"""The ONNX importer's shape rules (shapes.py, shapes_compute.py) and fold rules (fold.py)
one at a time, on hand-computed cases; and fuse.py's region evaluation, which asks the fold
rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from onnx import TensorProto, helper

from meshc.frontends.onnx.fold import FOLD, erf
from meshc.frontends.onnx.fuse_match import _eval
from meshc.frontends.onnx.reader import Graph
from meshc.frontends.onnx.shapes import SHAPES
from meshc.frontends.onnx.shapes_compute import einsum_dims, matmul_shape
from meshc.frontends.onnx.values import (
    ACT,
    CONST,
    Unknown,
    Val,
    reshape_shape,
    split_sizes,
)

F32, I64 = TensorProto.FLOAT, TensorProto.INT64


def act(shape: tuple[int, ...], dtype: int = F32) -> Val:
    return Val("x", dtype, shape, ACT)


def const(value: list[int]) -> Val:
    v = np.array(value, np.int64)
    return Val("c", I64, v.shape, CONST, value=v)


def test_reshape_copies_zero_and_infers_minus_one() -> None:
    assert reshape_shape((2, 3, 4), [0, -1], allowzero=False) == (2, 12)
    assert reshape_shape((2, 3, 4), [4, 0, 2], allowzero=False) == (4, 3, 2)
    with pytest.raises(ValueError, match="more than one -1"):
        reshape_shape((2, 3, 4), [-1, -1], allowzero=False)
    with pytest.raises(ValueError, match="cannot reshape"):
        reshape_shape((2, 3, 4), [5, -1], allowzero=False)


def test_split_sizes_are_equal_but_the_last() -> None:
    assert split_sizes(10, 3) == [4, 4, 2]
    assert split_sizes(9, 3) == [3, 3, 3]


def test_matmul_and_einsum_shapes() -> None:
    assert matmul_shape((5, 2, 3, 4), (4, 7)) == (5, 2, 3, 7)
    assert matmul_shape((4,), (2, 4, 6)) == (2, 6)
    assert matmul_shape((3, 4), (4,)) == (3,)
    with pytest.raises(ValueError, match="inner dimensions differ"):
        matmul_shape((3, 4), (5, 6))
    sizes, out, terms = einsum_dims("bhqd,bhkd->bhqk", [(2, 8, 16, 64), (2, 8, 32, 64)])
    assert (sizes, out, terms) == ({"b": 2, "h": 8, "q": 16, "d": 64, "k": 32}, "bhqk",
                                   ["bhqd", "bhkd"])
    assert einsum_dims("...ij,jk", [(3, 2, 5), (5, 7)])[1] == "Aik"


def test_shape_rules() -> None:
    x = act((2, 3, 4))
    assert SHAPES["Reshape"]("Reshape", [x, const([6, -1])], {}, 17, 1) == [(F32, (6, 4))]
    assert SHAPES["Slice"]("Slice", [x, const([1]), const([100]), const([-1]), const([2])],
                           {}, 17, 1) == [(F32, (2, 3, 2))]  # rows 1 and 3 of 4
    assert SHAPES["Transpose"]("Transpose", [x], {"perm": [2, 0, 1]}, 17, 1) == [
        (F32, (4, 2, 3))]
    assert SHAPES["Equal"]("Equal", [x, act((4,))], {}, 17, 1) == [
        (TensorProto.BOOL, (2, 3, 4))]
    assert SHAPES["ReduceMean"]("ReduceMean", [x, const([-1])], {"keepdims": 0}, 18, 1) == [
        (F32, (2, 3))]
    assert SHAPES["Split"]("Split", [act((2, 5))], {"axis": 1}, 17, 3) == [
        (F32, (2, 2)), (F32, (2, 2)), (F32, (2, 1))]
    # a target shape computed at run time is not known at import time
    with pytest.raises(Unknown, match="the target shape"):
        SHAPES["Reshape"]("Reshape", [x, act((2,), I64)], {}, 17, 1)
    with pytest.raises(ValueError, match="input 1 is missing"):
        SHAPES["Gather"]("Gather", [x, None], {}, 17, 1)


def test_fold_rules() -> None:
    i = np.array([7, -7], np.int64)
    assert FOLD["Div"]("Div", {}, 17, i, np.array([2, 2], np.int64))[0].tolist() == [3, -3]
    assert FOLD["Mod"]("Mod", {"fmod": 1}, 17, i, np.array([3, 3]))[0].tolist() == [1, -1]
    assert FOLD["Mod"]("Mod", {}, 17, i, np.array([3, 3]))[0].tolist() == [1, 2]
    ar = np.arange(12).reshape(3, 4)
    got = FOLD["Slice"]("Slice", {}, 17, ar, np.array([1]), np.array([4]), np.array([1]),
                        np.array([2]))[0]
    assert got.tolist() == [[1, 3], [5, 7], [9, 11]]
    parts = FOLD["Split"]("Split", {"num_outputs": 2}, 18, np.arange(5))
    assert [p.tolist() for p in parts] == [[0, 1, 2], [3, 4]]
    got = FOLD["CumSum"]("CumSum", {"exclusive": 1}, 17, np.array([1, 2, 3]), np.array(0))[0]
    assert got.tolist() == [0, 1, 3]
    assert FOLD["Trilu"]("Trilu", {"upper": 0}, 17, np.ones((2, 2)))[0].tolist() == [
        [1, 0], [1, 1]]
    assert erf(np.array([0.0, 1.0])).tolist() == [0.0, math.erf(1.0)]
    with pytest.raises(Unknown):
        FOLD["ReduceL2"]("ReduceL2", {}, 18, ar)


class _View:
    """The part of a Fuser that region evaluation reads."""

    def __init__(self, vals: dict[str, Val]) -> None:
        self.g = Graph("t.onnx", 17, [], [], [], {}, {})
        self.vals = vals
        self.pos: dict[int, int] = {}
        self.producer: dict[str, object] = {}
        self.claimed: set[int] = set()

    def ins(self, node: object) -> list[str]:
        return list(node.input)


def test_region_evaluation_uses_the_fold_rules_in_float64() -> None:
    # y = Cast(x, f16) * Sigmoid(x): the cast keeps float64, so the region is SiLU exactly
    nodes = [helper.make_node("Cast", ["x"], ["h"], to=TensorProto.FLOAT16),
             helper.make_node("Sigmoid", ["x"], ["s"]),
             helper.make_node("Mul", ["h", "s"], ["y"]),
             helper.make_node("ReduceMean", ["y", "ax"], ["m"])]
    ax = Val("ax", I64, (1,), CONST, value=np.array([1], np.int64))
    x = np.linspace(-3.0, 3.0, 7).reshape(1, 7)
    out = _eval(_View({"ax": ax}), nodes, {"x": x})
    silu = x / (1.0 + np.exp(-x))
    assert out is not None and out.shape == (1, 1)
    assert out[0, 0] == pytest.approx(silu.mean())
    assert _eval(_View({}), nodes[:3], {"x": x}) == pytest.approx(silu)
