"""What fuse.py recognises, as functions of the graph it sees: rope's node pattern, and
elementwise regions evaluated on sample inputs with the fold rules and compared with the
reference GELU/SiLU/sigmoid and LayerNorm/RMSNorm."""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import onnx

from meshc.frontends.onnx.fold import FOLD, erf
from meshc.frontends.onnx.reader import Graph, attrs
from meshc.frontends.onnx.values import FOLD_LIMIT, Array, Val

# elementwise ops a norm or activation region may contain
REGION_OPS = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Erf",
                        "Tanh", "Sigmoid", "Exp", "Neg", "Cast", "ReduceMean", "Identity"})


class FuserView(Protocol):
    """The Fuser's view of the graph these matchers read."""

    g: Graph
    vals: dict[str, Val]
    pos: dict[int, int]
    producer: dict[str, onnx.NodeProto]
    claimed: set[int]

    def ins(self, node: onnx.NodeProto) -> list[str]: ...

    def only_user(self, name: str) -> onnx.NodeProto | None: ...

    def is_act(self, name: str) -> bool: ...


def match_rope(f: FuserView, add: onnx.NodeProto) -> tuple[str, list[onnx.NodeProto]] | None:
    """x*cos + Concat(-x2, x1)*sin, with x1, x2 the two halves of x's last axis: x and the
    nodes before the Add."""
    ins = f.ins(add)
    if len(ins) != 2:
        return None
    muls = [m for m in (f.producer.get(v) for v in ins) if m is not None]
    if len(muls) != 2 or any(m.op_type != "Mul" or id(m) in f.claimed
                             or f.only_user(v) is None for m, v in zip(muls, ins, strict=True)):
        return None
    for first, second in ((muls[0], muls[1]), (muls[1], muls[0])):
        got = _rope_parts(f, first, second)
        if got is not None:
            return got if f.vals[add.output[0]].shape == f.vals[got[0]].shape else None
    return None


def _rope_parts(f: FuserView, m_cos: onnx.NodeProto, m_sin: onnx.NodeProto
                ) -> tuple[str, list[onnx.NodeProto]] | None:
    for x in f.ins(m_cos):
        if not f.is_act(x):
            continue
        for rot in f.ins(m_sin):
            cat = f.producer.get(rot)
            if cat is None or cat.op_type != "Concat" or f.only_user(rot) is None:
                continue
            parts = f.ins(cat)
            if len(parts) != 2:
                continue
            neg = f.producer.get(parts[0])
            s1 = f.producer.get(parts[1])
            if neg is None or neg.op_type != "Neg" or s1 is None or s1.op_type != "Slice":
                continue
            s2 = f.producer.get(f.ins(neg)[0])
            if s2 is None or s2.op_type != "Slice":
                continue
            if f.ins(s1)[0] != x or f.ins(s2)[0] != x:
                continue
            nodes = [m_cos, m_sin, cat, neg, s1, s2]
            if any(id(n) in f.claimed for n in nodes):
                continue
            inner = [rot, parts[0], parts[1], f.ins(neg)[0]]
            if any(f.only_user(v) is None for v in inner):
                continue
            return x, nodes
    return None


def ancestors(by_out: dict[str, onnx.NodeProto], y: str, f: FuserView
              ) -> list[onnx.NodeProto]:
    """The region's nodes that produce y or lead to it, in topological order."""
    seen: dict[int, onnx.NodeProto] = {}
    stack = [y]
    while stack:
        n = by_out.get(stack.pop())
        if n is None or id(n) in seen:
            continue
        seen[id(n)] = n
        stack.extend(x for x in f.ins(n) if x)
    return sorted(seen.values(), key=lambda node: f.pos[id(node)])


def _eval(f: FuserView, nodes: list[onnx.NodeProto], env: dict[str, Array]) -> Array | None:
    """Evaluates the region in float64 with the fold rules; None if some input is not
    available. Two ops differ from folding: a Cast keeps float64 (a precision cast is the
    exporter's choice, not part of the function), and a ReduceMean (checked to be over the
    last axis) reduces the samples' last axis, whatever the model's rank."""
    env = dict(env)

    def get(name: str) -> Array:
        if name in env:
            return env[name]
        v = f.vals[name]
        if v.value is None:
            raise KeyError(name)
        return np.asarray(v.value, dtype=np.float64)

    try:
        with np.errstate(all="ignore"):
            for n in nodes:
                ins = [get(x) for x in f.ins(n) if x]
                if math.prod(np.broadcast_shapes(*(np.shape(v) for v in ins))) > FOLD_LIMIT:
                    return None  # samples broadcast against a large constant: not evaluated
                op = n.op_type
                if op == "Cast":
                    r = ins[0]
                elif op == "ReduceMean":
                    r = np.mean(ins[0], axis=-1, keepdims=True)
                elif op in REGION_OPS:
                    r = FOLD[op](op, attrs(n), f.g.opset, *ins)[0]
                else:
                    return None
                env[n.output[0]] = np.asarray(r, dtype=np.float64)
    except (KeyError, ValueError):
        return None
    return env.get(nodes[-1].output[0])


_SAMPLES = np.linspace(-5.0, 5.0, 41)


def match_activation(f: FuserView, nodes: list[onnx.NodeProto], x: str, y: str) -> str | None:
    sample = _SAMPLES.reshape(1, -1) if f.vals[x].shape[-1] != 1 else _SAMPLES.reshape(-1, 1)
    out = _eval(f, _upto(nodes, y), {x: sample})
    if out is None or out.shape != sample.shape:
        return None
    s = sample
    refs = {
        "gelu": 0.5 * s * (1.0 + erf(s / math.sqrt(2.0))),
        "gelu_tanh": 0.5 * s * (1.0 + np.tanh(math.sqrt(2.0 / math.pi)
                                             * (s + 0.044715 * s ** 3))),
        "silu": s / (1.0 + np.exp(-s)),
        "sigmoid": 1.0 / (1.0 + np.exp(-s)),
    }
    for kind, ref in refs.items():
        if np.allclose(out, ref, rtol=1e-5, atol=1e-6):
            return kind
    return None


def match_norm(f: FuserView, nodes: list[onnx.NodeProto], x: str, y: str, weights: list[str],
                d: int) -> tuple[str | None, dict[str, str]]:
    if 3 * d > FOLD_LIMIT:  # a norm over more than 350k features is left as its ops
        return None, {}
    rng = np.random.default_rng(7)
    sample = rng.normal(0.4, 1.3, (3, d))
    wv = {w: rng.uniform(0.5, 1.5, f.vals[w].shape) for w in weights}
    out = _eval(f, _upto(nodes, y), {x: sample, **wv})
    if out is None or out.shape[-1] != d:
        return None, {}
    mean = sample.mean(-1, keepdims=True)
    ln = (sample - mean) / np.sqrt(sample.var(-1, keepdims=True))
    rms = sample / np.sqrt((sample ** 2).mean(-1, keepdims=True))
    options: list[tuple[dict[str, str], np.ndarray, np.ndarray]] = []
    if not weights:
        options.append(({}, np.ones(d), np.zeros(d)))
    elif len(weights) == 1:
        options.append(({"gamma": weights[0]}, wv[weights[0]].reshape(-1), np.zeros(d)))
    else:
        w0, w1 = weights
        options.append(({"gamma": w0, "beta": w1}, wv[w0].reshape(-1), wv[w1].reshape(-1)))
        options.append(({"gamma": w1, "beta": w0}, wv[w1].reshape(-1), wv[w0].reshape(-1)))
    for roles, gamma, beta in options:
        for kind, base in (("layernorm", ln), ("rmsnorm", rms)):
            if kind == "rmsnorm" and "beta" in roles:
                continue
            if np.allclose(out, base * gamma + beta, rtol=1e-3, atol=1e-4):
                return kind, roles
    return None, {}


def _upto(nodes: list[onnx.NodeProto], y: str) -> list[onnx.NodeProto]:
    """The region's nodes in order, ending with the one that produces y."""
    for k, n in enumerate(nodes):
        if y in n.output:
            return nodes[:k + 1]
    return nodes
