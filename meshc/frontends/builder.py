"""A small builder that every frontend uses to emit `tfm` graphs.

It owns the current function, the current layer and block, and creates typed values, so a
frontend reads as the model it builds: `x = b.linear(h, b.weight("q", (d, d)))`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from math import prod

from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    BFloat16Type,
    FunctionType,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.rewriter import InsertPoint

from meshc import limits
from meshc.ir import graph as g

Shape = Sequence[int]


class GraphBuilder:
    """Builds one function (one phase) of a `tfm` graph."""

    def __init__(self, name: str, arg_types: Sequence[TensorType], dtype: Attribute | None = None):
        self.dtype: Attribute = dtype or BFloat16Type()
        self.block = Block(arg_types=list(arg_types))
        self.func_name = name
        self._b = Builder(InsertPoint.at_end(self.block))
        self.layer = -1
        self.blk: g.Block = g.Block.OTHER

    @property
    def args(self) -> tuple[SSAValue, ...]:
        return tuple(self.block.args)

    @contextmanager
    def at(self, layer: int, block: str | g.Block) -> Iterator[GraphBuilder]:
        """Ops created inside belong to `layer` and `block`."""
        old = self.layer, self.blk
        self.layer, self.blk = layer, g.Block(block)
        try:
            yield self
        finally:
            self.layer, self.blk = old

    def tensor(self, shape: Shape, dtype: Attribute | None = None) -> TensorType:
        check_elements(shape)
        return TensorType(dtype or self.dtype, list(shape))

    def _props(self, **extra: Attribute) -> dict[str, Attribute]:
        return {"layer": IntegerAttr(self.layer, 64), "block": g.BlockAttr(self.blk), **extra}

    def _emit(self, op: g.GraphOp) -> SSAValue:
        self._b.insert(op)
        return op.results[0]

    # -- values -------------------------------------------------------------------------
    def weight(self, name: str, shape: Shape, dtype: Attribute | None = None) -> SSAValue:
        return self._emit(g.WeightOp.create(
            result_types=[self.tensor(shape, dtype)], properties=self._props(param=StringAttr(name))))

    def kv_read(self, cache: str, shape: Shape, dtype: Attribute | None = None) -> SSAValue:
        return self._emit(g.KvReadOp.create(
            result_types=[self.tensor(shape, dtype)],
            properties=self._props(cache=StringAttr(cache))))

    def kv_append(self, cache: str, new: SSAValue, past: SSAValue | None = None) -> SSAValue:
        b, n, w = _shape(new)
        total = n + (_shape(past)[1] if past is not None else 0)
        return self._emit(g.KvAppendOp.create(
            operands=[new] + ([past] if past is not None else []),
            result_types=[self.tensor((b, total, w), _elt(new))],
            properties=self._props(cache=StringAttr(cache))))

    # -- compute ------------------------------------------------------------------------
    def embedding(self, ids: SSAValue, table: SSAValue) -> SSAValue:
        shape = (*_shape(ids), _shape(table)[1])
        return self._emit(g.EmbeddingOp.create(
            operands=[ids, table], result_types=[self.tensor(shape, _elt(table))],
            properties=self._props()))

    def linear(self, x: SSAValue, w: SSAValue, bias: SSAValue | None = None) -> SSAValue:
        shape = (*_shape(x)[:-1], _shape(w)[1])
        return self._emit(g.LinearOp.create(
            operands=[x, w] + ([bias] if bias is not None else []),
            result_types=[self.tensor(shape, _elt(x))], properties=self._props()))

    def lm_head(self, x: SSAValue, table: SSAValue, last: bool) -> SSAValue:
        bsz, tokens, _ = _shape(x)
        shape = (bsz, 1 if last else tokens, _shape(table)[0])
        extra = {"last": UnitAttr()} if last else {}
        return self._emit(g.LmHeadOp.create(
            operands=[x, table], result_types=[self.tensor(shape, _elt(x))],
            properties=self._props(**extra)))

    def matmul(self, a: SSAValue, b: SSAValue, transpose_b: bool = False) -> SSAValue:
        sb = _shape(b)
        n = sb[-2] if transpose_b else sb[-1]
        extra = {"transpose_b": UnitAttr()} if transpose_b else {}
        return self._emit(g.MatmulOp.create(
            operands=[a, b], result_types=[self.tensor((*_shape(a)[:-1], n), _elt(a))],
            properties=self._props(**extra)))

    def attention(
        self, q: SSAValue, k: SSAValue, v: SSAValue, *, heads: int, kv_heads: int,
        qk_dim: int, v_dim: int, causal: bool, variant: str | None = None,
        absorb: SSAValue | None = None, rope_dim: int | None = None,
    ) -> SSAValue:
        kind = variant or ("mha" if heads == kv_heads else "mqa" if kv_heads == 1 else "gqa")
        sq = _shape(q)
        extra: dict[str, Attribute] = {"causal": UnitAttr()} if causal else {}
        if rope_dim is not None:
            extra["rope_dim"] = IntegerAttr(rope_dim, 64)
        props = self._props(
            variant=g.AttentionVariantAttr(g.AttentionVariant(kind)),
            heads=IntegerAttr(heads, 64), kv_heads=IntegerAttr(kv_heads, 64),
            qk_dim=IntegerAttr(qk_dim, 64), v_dim=IntegerAttr(v_dim, 64), **extra)
        operands = [q, k, v] + ([absorb] if absorb is not None else [])
        out = self.tensor((sq[0], sq[1], heads * v_dim), _elt(q))
        return self._emit(g.AttentionOp.create(operands=operands, result_types=[out],
                                               properties=props))

    def _unary(self, cls: type[g.GraphOp], x: SSAValue, **extra: Attribute) -> SSAValue:
        return self._emit(cls.create(operands=[x], result_types=[x.type],
                                     properties=self._props(**extra)))

    def softmax(self, x: SSAValue) -> SSAValue:
        return self._unary(g.SoftmaxOp, x)

    def rope(self, x: SSAValue) -> SSAValue:
        return self._unary(g.RopeOp, x)

    def rmsnorm(self, x: SSAValue, gamma: SSAValue) -> SSAValue:
        return self._emit(g.RmsNormOp.create(operands=[x, gamma], result_types=[x.type],
                                             properties=self._props()))

    def layernorm(self, x: SSAValue, gamma: SSAValue, beta: SSAValue | None = None) -> SSAValue:
        ops = [x, gamma] + ([beta] if beta is not None else [])
        return self._emit(g.LayerNormOp.create(operands=ops, result_types=[x.type],
                                               properties=self._props()))

    def activation(self, kind: str, x: SSAValue, up: SSAValue | None = None) -> SSAValue:
        ops = [x] + ([up] if up is not None else [])
        return self._emit(g.ActivationOp.create(
            operands=ops, result_types=[x.type], properties=self._props(kind=StringAttr(kind))))

    def add(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._binary(g.AddOp, a, b)

    def mul(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._binary(g.MulOp, a, b)

    def _binary(self, cls: type[g.GraphOp], a: SSAValue, b: SSAValue) -> SSAValue:
        sa, sb = _shape(a), _shape(b)
        n = max(len(sa), len(sb))
        pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
        shape = tuple(max(x, y) for x, y in zip(pa, pb, strict=True))
        return self._emit(cls.create(operands=[a, b], result_types=[self.tensor(shape, _elt(a))],
                                     properties=self._props()))

    def concat(self, inputs: Sequence[SSAValue]) -> SSAValue:
        first = _shape(inputs[0])
        shape = (*first[:-1], sum(_shape(i)[-1] for i in inputs))
        return self._emit(g.ConcatOp.create(
            operands=list(inputs), result_types=[self.tensor(shape, _elt(inputs[0]))],
            properties=self._props()))

    def moe(self, x: SSAValue, router: SSAValue, w_gate: SSAValue, w_up: SSAValue,
            w_down: SSAValue, *, experts: int, top_k: int, shared: int) -> SSAValue:
        props = self._props(experts=IntegerAttr(experts, 64), top_k=IntegerAttr(top_k, 64),
                            shared=IntegerAttr(shared, 64))
        return self._emit(g.MoeOp.create(operands=[x, router, w_gate, w_up, w_down],
                                         result_types=[x.type], properties=props))

    def generic(self, op_type: str, inputs: Sequence[SSAValue], outputs: Sequence[TensorType],
                macs: int = 0, vector_ops: int = 0, mac_kind: str | None = None,
                ) -> list[SSAValue]:
        extra = {"mac_kind": StringAttr(mac_kind)} if mac_kind else {}
        op = g.GenericOp.create(
            operands=list(inputs), result_types=list(outputs),
            properties=self._props(op_type=StringAttr(op_type), macs=IntegerAttr(macs, 64),
                                   vector_ops=IntegerAttr(vector_ops, 64), **extra))
        self._b.insert(op)
        return list(op.results)

    def finish(self, results: Sequence[SSAValue]) -> func.FuncOp:
        """Closes the function with a return of `results`."""
        self._b.insert(func.ReturnOp(*results))
        ftype = FunctionType.from_lists(
            [a.type for a in self.block.args], [r.type for r in results])
        return func.FuncOp(self.func_name, ftype, Region(self.block))


def check_elements(shape: Shape, what: str = "a tensor") -> None:
    """Refuses a tensor whose elements (or one dimension) exceed the `dim` limit, before
    anything is made of it: 1e15-token sequences are mistakes, not workloads."""
    limits.check("dim", prod(shape), f"{what} of shape {list(shape)} has too many elements")


def module_of(funcs: Sequence[func.FuncOp]) -> ModuleOp:
    return ModuleOp(list(funcs))


def _shape(v: SSAValue) -> tuple[int, ...]:
    assert isinstance(v.type, TensorType)
    return tuple(v.type.get_shape())


def _elt(v: SSAValue) -> Attribute:
    assert isinstance(v.type, TensorType)
    elt: Attribute = v.type.element_type
    return elt


def numel_of(v: SSAValue) -> int:
    return prod(_shape(v))
