"""Emits tagged units as one `func.func @graph` of `tfm` ops.

Conventions:
- a floating-point initializer of more than one element that an emitted op reads is one
  `tfm.weight` (its bytes counted once, however many ops read it); other constants
  (scalars, integer tensors, folded shape arithmetic) are attributes of the op that reads
  them and are materialised as a zero-work `tfm.generic "Constant"` only where a typed op
  needs an operand (e.g. position ids of an embedding);
- data movement (Reshape, Transpose, Expand, Gather of non-parameters, ...) is a
  `tfm.generic` with 0 MACs and 0 vector ops; elementwise ops count one vector op per
  output element; reductions one per input element;
- every MatMul/Gemm/Einsum/Conv/Attention keeps its exact MAC count: as `tfm.linear`,
  `tfm.lm_head`, `tfm.matmul`, `tfm.attention`, or a `tfm.generic` with `macs` (kind
  `linear` when one operand comes from a weight, e.g. gathered MoE experts);
- each `tfm.generic` has one result (a node with several outputs becomes one generic per
  output, its work on the first); rank-0 tensors are typed `[1]`; 4-D `[B, H, S, D]`
  head layouts are packed to `[B, S, H*D]` around `tfm.attention` and the KV cache ops.
"""

from __future__ import annotations

import re
from math import prod

import onnx
from onnx import TensorProto
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float4E2M1FNType,
    Float8E4M3FNType,
    Float8E4M3FNUZType,
    Float8E5M2FNUZType,
    Float8E5M2Type,
    Float8E8M0FNUType,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    ModuleOp,
    Signedness,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.exceptions import DiagnosticException

from meshc.errors import MeshcError, one_line
from meshc.frontends.builder import GraphBuilder, module_of
from meshc.frontends.onnx.fuse import Fuser, Unit
from meshc.frontends.onnx.infer import (
    ACT,
    CONST,
    INPUT,
    WEIGHT,
    Val,
    attention_dims,
    einsum_dims,
)
from meshc.frontends.onnx.ops import DATA_MOVEMENT, REDUCTION
from meshc.frontends.onnx.reader import Graph, attrs
from meshc.hardware.op_costs import vector_ops
from meshc.ir import graph as g

_ELT: dict[int, Attribute] = {
    TensorProto.FLOAT: Float32Type(), TensorProto.FLOAT16: Float16Type(),
    TensorProto.BFLOAT16: BFloat16Type(), TensorProto.DOUBLE: Float64Type(),
    TensorProto.FLOAT8E4M3FN: Float8E4M3FNType(), TensorProto.FLOAT8E4M3FNUZ:
    Float8E4M3FNUZType(), TensorProto.FLOAT8E5M2: Float8E5M2Type(),
    TensorProto.FLOAT8E5M2FNUZ: Float8E5M2FNUZType(),
    **{getattr(TensorProto, k): v for k, v in (
        ("FLOAT4E2M1", Float4E2M1FNType()), ("FLOAT8E8M0", Float8E8M0FNUType()),
        ("INT2", IntegerType(2)), ("UINT2", IntegerType(2, Signedness.UNSIGNED)))
       if hasattr(TensorProto, k)},
    TensorProto.BOOL: IntegerType(1),
    TensorProto.INT4: IntegerType(4), TensorProto.INT8: IntegerType(8),
    TensorProto.INT16: IntegerType(16), TensorProto.INT32: IntegerType(32),
    TensorProto.INT64: IntegerType(64),
    TensorProto.UINT4: IntegerType(4, Signedness.UNSIGNED),
    TensorProto.UINT8: IntegerType(8, Signedness.UNSIGNED),
    TensorProto.UINT16: IntegerType(16, Signedness.UNSIGNED),
    TensorProto.UINT32: IntegerType(32, Signedness.UNSIGNED),
    TensorProto.UINT64: IntegerType(64, Signedness.UNSIGNED),
}
_ANON = re.compile(r"^(onnx::|val_\d|_val_|\d+$)")
# ONNX ops whose work is not one plain op per element: the hardware cost model's op class
# (meshc/hardware/op_costs.py holds the counts). Elementwise ops not listed count one plain
# op per output element, reductions one per input element.
_OP_CLASS = {"Exp": "exp", "Log": "log", "Tanh": "tanh", "Erf": "erf", "Sqrt": "sqrt",
             "Reciprocal": "reciprocal", "Relu": "relu", "Gelu": "gelu", "Sigmoid": "sigmoid",
             "Swish": "silu", "Softplus": "softplus", "Softmax": "softmax",
             "LogSoftmax": "log_softmax", "LayerNormalization": "layernorm",
             "RMSNormalization": "rmsnorm", "InstanceNormalization": "layernorm",
             "GroupNormalization": "layernorm", "BatchNormalization": "batchnorm",
             "RotaryEmbedding": "rope"}


def _vector(kind: str, elements: int, rows: int = 0) -> int:
    """The op's plain plus transcendental ops: `tfm.generic` carries one vector count."""
    plain, trans = vector_ops(kind, elements, rows)
    return int(plain) + int(trans)


def element_type(dtype: int) -> Attribute:
    elt = _ELT.get(dtype)
    if elt is None:
        raise ValueError(f"element type {TensorProto.DataType.Name(dtype)} is not supported")
    return elt


def tensor_type(dtype: int, shape: tuple[int, ...]) -> TensorType:
    return TensorType(element_type(dtype), list(shape) if shape else [1])


class _Empty(Exception):
    """A unit reads or writes a tensor with a zero dimension: it does no work."""


class Emitter:
    def __init__(self, graph: Graph, vals: dict[str, Val], units: list[Unit],
                 fuser: Fuser) -> None:
        self.g, self.vals, self.units, self.f = graph, vals, units, fuser
        try:
            args = [self._type(vals[i.name]) for i in graph.inputs]
        except ValueError as e:
            raise MeshcError(f"cannot import the graph inputs: {e}", file=graph.path) from None
        self.b = GraphBuilder("graph", args, self._main_dtype())
        self.ssa: dict[str, SSAValue | None] = {
            i.name: a for i, a in zip(graph.inputs, self.b.args, strict=True)}
        self.weights: dict[str, SSAValue] = {}
        self.views: dict[tuple[str, tuple[int, ...]], SSAValue] = {}
        self.consts: dict[str, SSAValue] = {}
        self.params: set[str] = set()
        self.node: onnx.NodeProto | None = None

    def _main_dtype(self) -> Attribute:
        counts: dict[int, int] = {}
        for t in self.g.initializers.values():
            counts[t.data_type] = counts.get(t.data_type, 0) + prod(t.dims)
        floats = {k: v for k, v in counts.items() if k in (
            TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE)}
        return element_type(max(floats, key=floats.__getitem__) if floats
                            else TensorProto.FLOAT)

    def _type(self, v: Val) -> TensorType:
        return tensor_type(v.dtype, v.shape)

    # -- entry -------------------------------------------------------------------------------
    def run(self) -> ModuleOp:
        for u in self.units:
            self.node = u.node
            with self.b.at(u.layer, u.block):
                try:
                    self._unit(u)
                except _Empty:
                    for o in u.outputs:
                        self.ssa[o] = None
                except ValueError as e:
                    raise self.g.error(f"cannot import: {e}", u.node) from None
        self.node = None
        results = []
        for o in self.g.outputs:
            name = self.f.resolve(o.name)
            v = self.value(name)
            if v is None:
                raise MeshcError(f"graph output '{o.name}' has a zero-size dimension "
                                 f"{list(self.vals[name].shape)}", file=self.g.path)
            results.append(v)
        module = module_of([self.b.finish(results)])
        _drop_dead_moves(module)
        try:
            module.verify()
        except DiagnosticException as e:
            raise MeshcError("internal error: the imported graph does not verify: "
                             + one_line(e), file=self.g.path) from None
        return module

    # -- values ------------------------------------------------------------------------------
    def value(self, name: str) -> SSAValue | None:
        v = self.vals[name]
        if v.kind in (INPUT, ACT):
            return self.ssa[name]
        if v.kind == WEIGHT:
            assert v.init is not None
            return self.weight(v.init, v.shape)
        return self.const(name)

    def need(self, name: str) -> SSAValue:
        v = self.value(name)
        if v is None:
            raise _Empty
        return v

    def weight(self, init: str, shape: tuple[int, ...]) -> SSAValue:
        shape = tuple(shape) or (1,)
        w = self.weights.get(init)
        if w is None:
            t = self.g.initializers[init]
            w = self.b.weight(self._param_name(init), shape,
                              element_type(t.data_type))
            self.weights[init] = w
        if tuple(w.type.get_shape()) == shape:  # type: ignore[union-attr]
            return w
        key = (init, shape)
        if key not in self.views:
            elt = w.type.element_type  # type: ignore[union-attr]
            self.views[key] = self.b.generic("Reshape", [w], [TensorType(elt, list(shape))])[0]
        return self.views[key]

    def _param_name(self, init: str) -> str:
        name = init
        node = self.node
        if _ANON.match(init) and node is not None and "/" in node.name:
            scope = [p for p in node.name.strip("/").split("/")[:-1] if p]
            if scope:
                name = ".".join(scope) + ".weight"
        base, k = name, 1
        while name in self.params:
            k += 1
            name = f"{base}#{k}"
        self.params.add(name)
        return name

    def const(self, name: str) -> SSAValue | None:
        if name not in self.consts:
            v = self.vals[name]
            if 0 in v.shape:
                return None
            self.consts[name] = self.b.generic("Constant", [], [self._type(v)])[0]
        return self.consts[name]

    def _set(self, name: str, value: SSAValue) -> None:
        want = self._type(self.vals[name])
        got = value.type
        assert isinstance(got, TensorType)
        if tuple(got.get_shape()) != tuple(want.get_shape()):
            raise ValueError(f"internal error: '{name}' is {list(got.get_shape())}, the graph "
                             f"says {list(want.get_shape())}")
        self.ssa[name] = value

    def _empty(self, names: list[str]) -> bool:
        return any(0 in self.vals[x].shape for x in names if x)

    # -- units -------------------------------------------------------------------------------
    def _unit(self, u: Unit) -> None:
        if self._empty(u.outputs):
            raise _Empty
        if u.kind == "linear":
            self._linear(u)
        elif u.kind == "activation":
            x = self.need(u.inputs[0])
            up = self.need(u.inputs[1]) if len(u.inputs) > 1 else None
            self._set(u.outputs[0], self.b.activation(u.info["act"], x, up))
        elif u.kind == "norm":
            self._norm(u, u.info["norm"], u.inputs[0], u.info.get("gamma"),
                       u.info.get("beta"))
        elif u.kind == "rope":
            self._set(u.outputs[0], self.b.rope(self.need(u.inputs[0])))
        elif u.kind == "kv_append":
            self._kv_append(u)
        else:
            self._node(u)

    def _linear(self, u: Unit) -> None:
        i = u.info
        x = self.need(u.inputs[0])
        if i.get("lm_head"):
            out = self.b.lm_head(x, self.weight(i["weight"], (i["n"], i["k"])), last=False)
        else:
            bias = self.weight(i["bias"], (i["n"],)) if i["bias"] else None
            out = self.b.linear(x, self.weight(i["weight"], (i["k"], i["n"])), bias)
        self._set(u.outputs[0], out)

    def _norm(self, u: Unit, kind: str, x: str, gamma: str | None,
              beta: str | None) -> None:
        xv = self.vals[x]
        d = xv.shape[-1]
        if gamma is None:
            self._generic(u, "LayerNormalization" if kind == "layernorm" else
                          "RMSNormalization", [x], vector_ops=_vector(kind, xv.numel,
                                                                      xv.numel // d))
            return
        gv = self.weight(gamma, (d,))
        xs = self.need(x)
        if kind == "layernorm":
            out = self.b.layernorm(xs, gv, self.weight(beta, (d,)) if beta else None)
        else:
            out = self.b.rmsnorm(xs, gv)
        self._set(u.outputs[0], out)

    def _pack(self, x: SSAValue, v: Val) -> SSAValue:
        """[B, H, S, D] -> [B, S, H*D] (a transpose and a reshape: data movement)."""
        b, h, s, d = v.shape
        return self.b.generic("PackHeads", [x], [tensor_type(v.dtype, (b, s, h * d))])[0]

    def _kv_append(self, u: Unit) -> None:
        cache = u.info["cache"]
        past, new = self.vals[u.inputs[0]], self.vals[u.inputs[1]]
        if 0 in past.shape:
            self._node(u)
            return
        news = self.need(u.inputs[1])
        elt = element_type(past.dtype)
        if len(past.shape) == 4:
            b, h, p, d = past.shape
            width = h * d
            news = self._pack(news, new)
        else:
            b, p, width = past.shape
        read = self.b.kv_read(cache, (b, p, width), elt)
        out = self.b.kv_append(cache, news, read)
        if len(past.shape) == 4:
            total = p + new.shape[2]
            out = self.b.generic("UnpackHeads", [out],
                                 [tensor_type(past.dtype, (b, h, total, d))])[0]
        self._set(u.outputs[0], out)

    # -- single nodes ----------------------------------------------------------------------------
    def _node(self, u: Unit) -> None:
        op = u.op
        handler = getattr(self, f"_op_{op}", None)
        if handler is not None and handler(u):
            return
        outs = [self.vals[o] for o in u.outputs]
        ins = [self.vals[x] for x in u.inputs if x]
        kind = _OP_CLASS.get(op, "elementwise")
        if kind == "gelu" and attrs(u.node).get("approximate", b"none") in (b"tanh", "tanh"):
            kind = "gelu_tanh"
        if op in DATA_MOVEMENT:
            vec = 0
        elif op in REDUCTION:
            vec = _vector(_OP_CLASS.get(op, "reduction"), ins[0].numel)
        else:  # elementwise, or a norm or rope left unfused: per output element (a norm's
            # rsqrt per row of the last axis)
            n = outs[0].numel
            vec = _vector(kind, n, n // max(outs[0].shape[-1] if outs[0].shape else 1, 1))
        self._generic(u, op, u.inputs, vector_ops=vec)

    def _generic(self, u: Unit, op_type: str, inputs: list[str], *, macs: int = 0,
                 vector_ops: int = 0, mac_kind: str | None = None) -> None:
        operands = []
        for x in inputs:
            if not x or self.vals[x].kind == CONST:
                continue  # constants are the op's attributes
            v = self.value(x)
            if v is not None:
                operands.append(v)
        first = True
        for o in u.outputs:
            if 0 in self.vals[o].shape:
                self.ssa[o] = None
                continue
            r = self.b.generic(op_type, operands, [self._type(self.vals[o])],
                               macs=macs if first else 0,
                               vector_ops=vector_ops if first else 0,
                               mac_kind=mac_kind if first and macs else None)[0]
            self._set(o, r)
            first = False

    def _acts(self, names: list[str]) -> bool:
        return all(self.vals[x].kind in (ACT, INPUT) for x in names)

    def _op_MatMul(self, u: Unit) -> bool:
        a, b = u.inputs[:2]
        va, vb, out = self.vals[a], self.vals[b], self.vals[u.outputs[0]]
        k = va.shape[-1]
        macs = out.numel * k
        weighty = any(v.kind == WEIGHT or v.from_weight for v in (va, vb))
        if (not weighty and self._acts([a, b]) and len(va.shape) == len(vb.shape) >= 2
                and va.shape[:-2] == vb.shape[:-2]):
            self._set(u.outputs[0], self.b.matmul(self.need(a), self.need(b)))
            return True
        self._generic(u, "MatMul", [a, b], macs=macs,
                      mac_kind="linear" if weighty else "attention")
        return True

    def _op_Gemm(self, u: Unit) -> bool:
        a = attrs(u.node)
        va, vb = self.vals[u.inputs[0]], self.vals[u.inputs[1]]
        k = va.shape[0] if a.get("transA", 0) else va.shape[1]
        out = self.vals[u.outputs[0]]
        bias = len(u.inputs) > 2 and bool(u.inputs[2])
        weighty = any(v.kind == WEIGHT or v.from_weight for v in (va, vb))
        self._generic(u, "Gemm", u.inputs, macs=out.numel * k,
                      vector_ops=out.numel if bias else 0,
                      mac_kind="linear" if weighty else "attention")
        return True

    def _op_Einsum(self, u: Unit) -> bool:
        eq = attrs(u.node)["equation"]
        eq = eq.decode() if isinstance(eq, bytes) else eq
        ins = [self.vals[x] for x in u.inputs if x]
        sizes, _, _ = einsum_dims(eq, [v.shape for v in ins])
        macs = prod(sizes.values()) * (len(ins) - 1) if len(ins) > 1 else 0
        weighty = any(v.kind == WEIGHT or v.from_weight for v in ins)
        self._generic(u, "Einsum", u.inputs, macs=macs,
                      vector_ops=0 if macs else ins[0].numel,
                      mac_kind="linear" if weighty else "attention")
        return True

    def _op_Conv(self, u: Unit) -> bool:
        w, out = self.vals[u.inputs[1]], self.vals[u.outputs[0]]
        macs = out.numel * prod(w.shape[1:])
        self._generic(u, "Conv", u.inputs, macs=macs, mac_kind="linear")
        return True

    def _op_ConvTranspose(self, u: Unit) -> bool:
        x, w = self.vals[u.inputs[0]], self.vals[u.inputs[1]]
        macs = x.numel * prod(w.shape[1:])
        self._generic(u, "ConvTranspose", u.inputs, macs=macs, mac_kind="linear")
        return True

    def _op_Attention(self, u: Unit) -> bool:
        a = attrs(u.node)
        ins = [self.vals[x] if x else None for x in u.inputs]
        d = attention_dims(ins, a)
        scores = d["batch"] * d["heads"] * d["q_len"] * d["kv_len"]
        macs = scores * (d["qk_dim"] + d["v_dim"])
        plain = (d["past"] == 0 and len(u.outputs) == 1 and d["qk_dim"] == d["v_dim"]
                 and d["heads"] % d["kv_heads"] == 0)
        if not plain:
            self._generic(u, "Attention", u.inputs, macs=macs,
                          vector_ops=_vector("attention_score", scores), mac_kind="attention")
            return True
        names = list(u.inputs[:3])
        kv_heads = d["kv_heads"]
        if d["rank"] == 4:
            # grouped-query attention written as Unsqueeze/Expand/Reshape of K and V: read
            # the KV heads before the expansion
            kb, vb = self._gqa_base(names[1]), self._gqa_base(names[2])
            if kb and vb and kb[1] == vb[1] and d["heads"] % kb[1] == 0:
                names[1], names[2], kv_heads = kb[0], vb[0], kb[1]
        q, k, v = (self.need(x) for x in names)
        if d["rank"] == 4:
            q, k, v = (self._pack(s, self.vals[x]) for s, x in zip((q, k, v), names,
                                                                   strict=True))
        out = self.b.attention(q, k, v, heads=d["heads"], kv_heads=kv_heads,
                               qk_dim=d["qk_dim"], v_dim=d["v_dim"],
                               causal=bool(a.get("is_causal", 0)))
        if d["rank"] == 4:
            y = self.vals[u.outputs[0]]
            out = self.b.generic("UnpackHeads", [out], [self._type(y)])[0]
        self._set(u.outputs[0], out)
        return True

    def _gqa_base(self, name: str) -> tuple[str, int] | None:
        """`Reshape(Expand(Unsqueeze(kv, 2)))` from [B, Hkv, S, D] to [B, Hkv*r, S, D]."""
        out = self.vals[name]
        chain = []
        x = name
        for op in ("Reshape", "Expand", "Unsqueeze"):
            n = self.f.producer.get(x)
            if n is None or n.op_type != op:
                return None
            chain.append(n)
            x = self.f.ins(n)[0]
        base = self.vals[x]
        if base.kind not in (ACT, INPUT) or len(base.shape) != 4 or len(out.shape) != 4:
            return None
        b, hkv, s, d = base.shape
        if (out.shape[0], out.shape[2], out.shape[3]) != (b, s, d) or out.shape[1] % hkv:
            return None
        return x, hkv

    def _op_Softmax(self, u: Unit) -> bool:
        x = self.vals[u.inputs[0]]
        axis = attrs(u.node).get("axis", -1 if self.g.opset >= 13 else 1)
        if x.shape and axis % len(x.shape) == len(x.shape) - 1:
            self._set(u.outputs[0], self.b.softmax(self.need(u.inputs[0])))
            return True
        return False

    def _fused_norm(self, u: Unit, kind: str) -> bool:
        a = attrs(u.node)
        x = self.vals[u.inputs[0]]
        used = [o for o in u.node.output[1:] if o and (self.f.users(o) or o in self.f.escapes)]
        if used or not x.shape or a.get("axis", -1) % len(x.shape) != len(x.shape) - 1:
            return False
        ws = [w for w in u.inputs[1:3] if w]
        d = x.shape[-1]
        if any(self.vals[w].kind != WEIGHT or self.vals[w].numel != d for w in ws) or not ws:
            return False
        u.outputs = u.outputs[:1]
        self._norm(u, kind, u.inputs[0], ws[0], ws[1] if len(ws) > 1 else None)
        return True

    def _op_LayerNormalization(self, u: Unit) -> bool:
        return self._fused_norm(u, "layernorm")

    def _op_RMSNormalization(self, u: Unit) -> bool:
        return self._fused_norm(u, "rmsnorm")

    def _op_RotaryEmbedding(self, u: Unit) -> bool:
        self._set(u.outputs[0], self.b.rope(self.need(u.inputs[0])))
        return True

    def _op_Sigmoid(self, u: Unit) -> bool:
        self._set(u.outputs[0], self.b.activation("sigmoid", self.need(u.inputs[0])))
        return True

    def _binary(self, u: Unit, fn) -> bool:
        ins = [x for x in u.inputs if x]
        if len(ins) != 2 or not all(self.vals[x].kind in (ACT, INPUT, WEIGHT) for x in ins):
            return False
        self._set(u.outputs[0], fn(self.need(ins[0]), self.need(ins[1])))
        return True

    def _op_Add(self, u: Unit) -> bool:
        return self._binary(u, self.b.add)

    def _op_Mul(self, u: Unit) -> bool:
        return self._binary(u, self.b.mul)

    def _op_Concat(self, u: Unit) -> bool:
        ins = [x for x in u.inputs if x]
        out = self.vals[u.outputs[0]]
        r = len(out.shape)
        if (r and attrs(u.node)["axis"] % r == r - 1 and self._acts(ins)
                and all(len(self.vals[x].shape) == r for x in ins)
                and not self._empty(ins)):
            self._set(u.outputs[0], self.b.concat([self.need(x) for x in ins]))
            return True
        return False

    def _op_Gather(self, u: Unit) -> bool:
        data, ids = u.inputs[:2]
        table, idx = self.vals[data], self.vals[ids]
        if (table.kind == WEIGHT and len(table.shape) == 2 and idx.shape
                and attrs(u.node).get("axis", 0) == 0 and not self._empty([ids])):
            assert table.init is not None
            t = self.weight(table.init, table.shape)
            self._set(u.outputs[0], self.b.embedding(self.need(ids), t))
            return True
        return False


def _drop_dead_moves(module: ModuleOp) -> None:
    """Erases zero-work generics (data movement, constants) and weights nobody reads, e.g.
    the K/V head expansion that `tfm.attention` does not need."""
    for f in module.ops:
        block = f.regions[0].blocks.first  # type: ignore[union-attr]
        if block is None:
            continue
        for op in reversed(list(block.ops)):
            dead = all(not r.uses for r in op.results) and op.results
            if not dead:
                continue
            if isinstance(op, g.WeightOp) or (
                    isinstance(op, g.GenericOp) and op.macs.value.data == 0
                    and op.vector_ops.value.data == 0):
                block.erase_op(op)
