"""Single ONNX nodes as `tfm` ops (emit.py): the typed op where one fits (matmul,
attention, softmax, norms, embedding ...), otherwise a `tfm.generic` carrying the node's
MACs and vector work."""

from __future__ import annotations

from collections.abc import Callable
from math import prod

from xdsl.ir import SSAValue

from meshc.frontends.onnx.emit_values import ValueTable
from meshc.frontends.onnx.fuse import Unit
from meshc.frontends.onnx.ops import DATA_MOVEMENT, REDUCTION
from meshc.frontends.onnx.reader import attrs
from meshc.frontends.onnx.shapes_compute import attention_dims, einsum_dims
from meshc.frontends.onnx.values import ACT, CONST, INPUT, WEIGHT
from meshc.hardware.op_costs import vector_ops

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


class NodeEmitter(ValueTable):
    """Emits one unit of a single node (or a norm) at a time."""

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

    def _binary(self, u: Unit, fn: Callable[[SSAValue, SSAValue], SSAValue]) -> bool:
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
